// Command vulnbench is the Go half of bench/vulns.sh, the vulnerability
// matching benchmark of Vigil against osv-scanner (see bench/VULNS.md):
//
//	vulnbench osvdb   -advisories DIR -out DIR         osv-scanner's offline database (DIR/osv-scanner/<Ecosystem>/all.zip)
//	vulnbench inputs  -advisories DIR -out DIR [-n N]  accuracy inputs: go.mod, Cargo.lock, requirements.txt
//	vulnbench gobin   -out FILE                        a Go binary with old dependencies, as a docker-save image
//	vulnbench sbom    -advisories DIR -mix SPEC -out FILE   a CycloneDX SBOM for the speed runs
//	vulnbench compare -advisories DIR -vigil FILE -osv FILE -input NAME -out FILE
//	vulnbench debcheck -advisories DIR -sbom FILE -vigil FILE -input NAME -out FILE   Vigil's Debian matches against dpkg's ordering
//	vulnbench report  -work DIR -out FILE              write VULNS.md from a run
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vulnbench:", err)
		os.Exit(1)
	}
}

var commands = []string{"osvdb", "inputs", "gobin", "sbom", "compare", "debcheck", "report"}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want a subcommand: %s", strings.Join(commands, ", "))
	}
	fs := flag.NewFlagSet("vulnbench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	advisories := fs.String("advisories", "", "the shared advisories directory")
	out := fs.String("out", "", "where to write")
	need := func(flags map[string]string) error {
		for name, v := range flags {
			if v == "" {
				return fmt.Errorf("%s: -%s is required", args[0], name)
			}
		}
		return nil
	}
	switch args[0] {
	case "osvdb":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := need(map[string]string{"advisories": *advisories, "out": *out}); err != nil {
			return err
		}
		recs, err := loadOSV(*advisories)
		if err != nil {
			return err
		}
		counts, err := writeOSVScannerDB(recs, *out)
		if err != nil {
			return err
		}
		for _, eco := range slices.Sorted(maps.Keys(counts)) {
			fmt.Fprintf(stdout, "%s\t%d\n", eco, counts[eco])
		}
		return nil
	case "inputs":
		n := fs.Int("n", 30, "packages per ecosystem (edge cases come on top)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := need(map[string]string{"advisories": *advisories, "out": *out}); err != nil {
			return err
		}
		recs, err := loadOSV(*advisories)
		if err != nil {
			return err
		}
		return writeInputs(recs, *out, *n)
	case "gobin":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := need(map[string]string{"out": *out}); err != nil {
			return err
		}
		bin, err := writeGoBinaryImage(*out)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, bin)
		return nil
	case "sbom":
		spec := fs.String("mix", "debian=1000,go=1600,pypi=1300,crates=1100", "components per ecosystem")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := need(map[string]string{"advisories": *advisories, "out": *out}); err != nil {
			return err
		}
		m, err := parseMix(*spec)
		if err != nil {
			return err
		}
		recs, err := loadOSV(*advisories)
		if err != nil {
			return err
		}
		return writeSBOM(recs, filepath.Join(*advisories, "debian-tracker", "DSA.list"), m, *out)
	case "compare":
		vigilPath := fs.String("vigil", "", "Vigil's JSON report")
		osvPath := fs.String("osv", "", "osv-scanner's JSON report")
		input := fs.String("input", "", "the input's name")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := need(map[string]string{"advisories": *advisories, "out": *out, "vigil": *vigilPath, "osv": *osvPath, "input": *input}); err != nil {
			return err
		}
		recs, err := loadOSV(*advisories)
		if err != nil {
			return err
		}
		g := newGroups(recs)
		vf, err := readVigil(*vigilPath, g)
		if err != nil {
			return err
		}
		of, err := readOSVScanner(*osvPath, g)
		if err != nil {
			return err
		}
		return writeComparison(compare(*input, "osv-scanner", vf, of, recs, g), *out, stdout)
	case "debcheck":
		sbomPath := fs.String("sbom", "", "the SBOM Vigil scanned")
		vigilPath := fs.String("vigil", "", "Vigil's JSON report")
		input := fs.String("input", "", "the input's name")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := need(map[string]string{"advisories": *advisories, "out": *out, "vigil": *vigilPath, "sbom": *sbomPath, "input": *input}); err != nil {
			return err
		}
		g := newGroups(nil)
		vf, err := readVigil(*vigilPath, g)
		if err != nil {
			return err
		}
		of, err := debianOracle(*sbomPath, filepath.Join(*advisories, "debian-tracker", "DSA.list"), "bullseye", g)
		if err != nil {
			return err
		}
		c := compare(*input, "dpkg", vf.onlyEcosystem("Debian"), of, nil, g)
		return writeComparison(c, *out, stdout)
	case "report":
		work := fs.String("work", "", "the run's directory")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := need(map[string]string{"work": *work, "out": *out}); err != nil {
			return err
		}
		return writeReport(*work, *out)
	}
	return errors.New("unknown subcommand " + args[0] + " (want " + strings.Join(commands, ", ") + ")")
}

// writeComparison writes c as JSON to path and a summary to stdout.
func writeComparison(c *comparison, path string, stdout io.Writer) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	for _, eco := range slices.Sorted(maps.Keys(c.ByEcosystem)) {
		n := c.ByEcosystem[eco]
		fmt.Fprintf(stdout, "%s %s: vigil %d, %s %d, agreed %d, only vigil %d, only %s %d\n",
			c.Input, eco, n.Vigil, c.Peer, n.Peer, n.Agreed, n.OnlyVigil, c.Peer, n.OnlyPeer)
	}
	return nil
}
