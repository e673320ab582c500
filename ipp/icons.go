// printer-icons: three embedded PNG sizes (48, 128 and 512 pixels, as PWG 5100.13 asks) served
// from PathIcons.
package ipp

import (
	"bytes"
	"embed"
	"net/http"
	"strings"
	"time"
)

//go:embed icons/*.png
var iconFiles embed.FS

// iconNames are the icon files in printer-icons order: small, normal, large.
func iconNames() []string {
	return []string{"printer-48.png", "printer-128.png", "printer-512.png"}
}

// iconsModTime is a fixed Last-Modified for the embedded icons (they change only with a new
// build, and clients cache them).
func iconsModTime() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// Icons serves the printer-icons images. Mount it for GET on PathIcons ("/ipp/icons/").
func (s *Server) Icons() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, PathIcons)
		if strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		data, err := iconFiles.ReadFile("icons/" + name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeContent(w, r, name, iconsModTime(), bytes.NewReader(data))
	})
}

// iconURLs are the printer-icons values for a request.
func (rq *request) iconURLs() []string {
	names := iconNames()
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = rq.webURL(PathIcons + n)
	}
	return out
}
