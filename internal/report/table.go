package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vigil-sec/vigil/internal/inventory"
)

// WriteTable writes r for a person: the asset, then one table per
// ecosystem, then what could not be read.
func WriteTable(w io.Writer, r *inventory.Result) error {
	ew := &errWriter{w: w}
	ecos := writeHeader(ew, r)
	a := r.Asset

	layered := len(a.Layers) > 0
	for _, e := range ecos {
		ew.printf("\n%s\n", e)
		tw := tabwriter.NewWriter(ew, 2, 4, 2, ' ', 0)
		header := "  NAME\tVERSION\tSOURCE\tLOCATION"
		if layered {
			header += "\tLAYER"
		}
		fmt.Fprintln(tw, header)
		for _, p := range r.Packages {
			if p.Ecosystem != e {
				continue
			}
			src := ""
			if p.Source != nil && (p.Source.Name != p.Name || p.Source.Version != p.Version) {
				src = p.Source.Name
				if p.Source.Version != "" && p.Source.Version != p.Version {
					src += " " + p.Source.Version
				}
			}
			loc := ""
			layer := ""
			if len(p.Locations) > 0 {
				loc = p.Locations[0].Path
				if p.Locations[0].LayerDiffID != "" {
					layer = fmt.Sprintf("%d %s", p.Locations[0].LayerIndex, shortDigest(p.Locations[0].LayerDiffID))
				}
			}
			line := fmt.Sprintf("  %s\t%s\t%s\t%s", p.Name, p.Version, src, loc)
			if layered {
				line += "\t" + layer
			}
			fmt.Fprintln(tw, line)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	writeIncomplete(ew, r, "packages")
	return ew.err
}

// writeHeader writes what every table starts with: the asset and its
// package counts. It returns the ecosystems found, sorted.
func writeHeader(ew *errWriter, r *inventory.Result) []inventory.Ecosystem {
	a := r.Asset
	ew.printf("Asset:    %s %s\n", a.Kind, a.Name)
	if a.Digest != "" {
		ew.printf("Digest:   %s\n", a.Digest)
	}
	if a.Platform != "" {
		ew.printf("Platform: %s\n", a.Platform)
	}
	if a.OS != nil {
		name := a.OS.PrettyName
		if name == "" {
			name = strings.TrimSpace(a.OS.ID + " " + a.OS.VersionID)
		}
		ew.printf("OS:       %s\n", name)
	}
	sum := Summarize(r)
	ecos := make([]inventory.Ecosystem, 0, len(sum.ByEcosystem))
	for e := range sum.ByEcosystem {
		ecos = append(ecos, e)
	}
	slices.Sort(ecos)
	parts := make([]string, 0, len(ecos))
	for _, e := range ecos {
		parts = append(parts, fmt.Sprintf("%s %d", e, sum.ByEcosystem[e]))
	}
	ew.printf("Packages: %d", sum.Packages)
	if len(parts) > 0 {
		ew.printf(" (%s)", strings.Join(parts, ", "))
	}
	ew.printf("\n")
	return ecos
}

// writeIncomplete lists what could not be read, if anything; what says
// what is missing from the output because of it.
func writeIncomplete(ew *errWriter, r *inventory.Result, what string) {
	if !r.Incomplete() {
		return
	}
	ew.printf("\nINCOMPLETE: %d part(s) of this asset could not be read; %s there are not listed:\n", len(r.Unknowns), what)
	for _, u := range r.Unknowns {
		where := u.Path
		if u.Layer != "" {
			where = "layer " + shortDigest(u.Layer) + " " + where
		}
		if u.Extractor != "" {
			where += " (" + u.Extractor + ")"
		}
		ew.printf("  %s: %s\n", strings.TrimSpace(where), u.Err)
	}
}

func shortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// errWriter keeps the first write error so that rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
