package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// SchemaVersion names the JSON document's schema. It changes only when a
// field is removed or changes meaning; new fields may appear within it.
const SchemaVersion = "vigil.inventory/v1"

// Tool identifies the program that wrote a document.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Document is the JSON form of an inventory result.
type Document struct {
	SchemaVersion string    `json:"schemaVersion"`
	Tool          Tool      `json:"tool"`
	GeneratedAt   time.Time `json:"generatedAt"`
	// Complete is false when part of the asset could not be read; then
	// Unknowns says what, and the absence of a package proves nothing.
	Complete bool                `json:"complete"`
	Asset    asset.Asset         `json:"asset"`
	Summary  Summary             `json:"summary"`
	Packages []inventory.Package `json:"packages"`
	Unknowns []inventory.Unknown `json:"unknowns,omitempty"`
}

// Summary counts packages.
type Summary struct {
	Packages    int                         `json:"packages"`
	ByEcosystem map[inventory.Ecosystem]int `json:"byEcosystem"`
}

// Summarize counts r's packages per ecosystem.
func Summarize(r *inventory.Result) Summary {
	s := Summary{Packages: len(r.Packages), ByEcosystem: map[inventory.Ecosystem]int{}}
	for _, p := range r.Packages {
		s.ByEcosystem[p.Ecosystem]++
	}
	return s
}

// WriteJSON writes r as a Document.
func WriteJSON(w io.Writer, r *inventory.Result, tool Tool, now time.Time) error {
	doc := newDocument(r, tool, now)
	return encodeJSON(w, doc)
}

// newDocument fills the fields every Vigil JSON document about r shares.
func newDocument(r *inventory.Result, tool Tool, now time.Time) Document {
	pkgs := r.Packages
	if pkgs == nil {
		pkgs = []inventory.Package{}
	}
	return Document{
		SchemaVersion: SchemaVersion,
		Tool:          tool,
		GeneratedAt:   now.UTC(),
		Complete:      !r.Incomplete(),
		Asset:         r.Asset,
		Summary:       Summarize(r),
		Packages:      pkgs,
		Unknowns:      r.Unknowns,
	}
}

// encodeJSON writes v indented, without HTML escaping.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
