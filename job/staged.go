package job

// Staged is a document a store holds durably but that no job owns yet. Pass it to the store's
// Submit or AddDocument, or Discard it. The exported fields are what front-ends read and may
// set (Name and Format, before Submit); Held is the store's own.
type Staged struct {
	Name           string
	Format         string
	SHA256         string
	Size           int64
	Pages          int
	PagesEstimated bool
	// Held is the store's hold on the bytes: only the store that staged the document
	// understands it.
	Held StagedBytes
}

// StagedBytes is a store's hold on a staged document's bytes.
type StagedBytes interface {
	// Discard removes the bytes unless a job owns them already; safe to call twice.
	Discard()
	// Inline reports whether the bytes go (or went) into the database rather than a file.
	Inline() bool
}

// Discard removes a staged document that will not be submitted. Safe to call twice, on nil,
// and on a document already attached to a job (then it does nothing).
func (st *Staged) Discard() {
	if st != nil && st.Held != nil {
		st.Held.Discard()
	}
}

// Inline reports whether the document goes (or went) into the database rather than a file.
func (st *Staged) Inline() bool { return st != nil && st.Held != nil && st.Held.Inline() }
