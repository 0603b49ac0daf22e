package main

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// writeOSVScannerDB writes the records as osv-scanner's offline database:
// DIR/osv-scanner/<Ecosystem>/all.zip, one <ID>.json per record, a record
// going into the archive of every ecosystem it affects (as the OSV bulk
// exports do). osv-scanner is then run with --experimental-local-db-path
// DIR. It returns the number of records per ecosystem.
func writeOSVScannerDB(recs []*record, dir string) (map[string]int, error) {
	byEco := map[string][]*record{}
	for _, r := range recs {
		seen := map[string]bool{}
		for _, a := range r.Affected {
			eco := baseEcosystem(a.Package.Ecosystem)
			if eco == "" || seen[eco] {
				continue
			}
			seen[eco] = true
			byEco[eco] = append(byEco[eco], r)
		}
	}
	counts := map[string]int{}
	for eco, rs := range byEco {
		path := filepath.Join(dir, "osv-scanner", eco, "all.zip")
		if err := writeZip(path, rs); err != nil {
			return nil, err
		}
		counts[eco] = len(rs)
	}
	return counts, nil
}

func writeZip(path string, rs []*record) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b *record) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	for _, r := range rs {
		w, err := zw.Create(r.ID + ".json")
		if err != nil {
			f.Close()
			return err
		}
		if _, err := w.Write(r.raw); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
