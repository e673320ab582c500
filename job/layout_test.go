package job_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/printgate/printgate/job"
)

// TestNoStateLiteralsOutsideJob: a job state is named through package job's constants and sets,
// never spelled as a string, anywhere in the product's source (test files excepted: they assert
// what clients see). The exceptions are package job itself, SQL text in the SQLite driver
// (spool), and other vocabularies that happen to share a word, marked on their line with an
// "IPP keyword" comment (IPP's job-state and which-jobs keywords) or "not a job state".
func TestNoStateLiteralsOutsideJob(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, s := range job.All {
		names[string(s)] = true
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "job" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		checked++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return err
		}
		marked := map[int]bool{}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if strings.Contains(c.Text, "IPP keyword") || strings.Contains(c.Text, "not a job state") {
					marked[fset.Position(c.Pos()).Line] = true
				}
			}
		}
		inSpool := strings.HasPrefix(rel, "spool"+string(filepath.Separator))
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			pos := fset.Position(lit.Pos())
			if marked[pos.Line] {
				return true
			}
			if names[v] {
				t.Errorf("%s:%d: state name %s spelled out; use package job's constant", rel, pos.Line, lit.Value)
				return true
			}
			if inSpool {
				return true // the driver's SQL names states in its own language
			}
			for name := range names {
				if strings.Contains(v, "'"+name+"'") {
					t.Errorf("%s:%d: SQL-quoted state '%s' outside the SQLite driver", rel, pos.Line, name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("walked only %d source files from %s; the test is not looking at the project", checked, root)
	}
}
