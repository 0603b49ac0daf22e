package vuln

import "github.com/vigil-sec/vigil/internal/inventory"

// Suppressor decides whether a match does not count: an ignore file, a VEX
// document. It returns nil when it has nothing to say about m.
//
// A suppression with Expires set stops applying at that instant: the
// matcher then keeps the match counted and records the lapsed rule in
// Match.ExpiredSuppression, so an expired exception is visible rather than
// silently gone.
type Suppressor interface {
	Suppress(m *Match, p *inventory.Package) *Suppression
}

// SuppressorFunc adapts a function to Suppressor.
type SuppressorFunc func(m *Match, p *inventory.Package) *Suppression

// Suppress calls f.
func (f SuppressorFunc) Suppress(m *Match, p *inventory.Package) *Suppression { return f(m, p) }

var _ Suppressor = SuppressorFunc(nil)
