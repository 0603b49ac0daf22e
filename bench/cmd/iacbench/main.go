// Command iacbench supports bench/iac.sh, the configuration scanning
// benchmark (issue 6): it generates the Terraform and Kubernetes corpora,
// counts the findings in each tool's report, and writes bench/IAC.md.
//
//	iacbench gen-tf  -files N -out DIR [-seed S]
//	iacbench gen-k8s -files N -out DIR [-seed S]
//	iacbench count   -tool vigil|tfsec|kics -report FILE   (prints "findings<TAB>files")
//	iacbench report  -work DIR -out FILE
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "iacbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("want a command: gen-tf, gen-k8s, count, report")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	files := fs.Int("files", 1000, "files to generate")
	out := fs.String("out", "", "output directory or file")
	seed := fs.Uint64("seed", 7, "random seed")
	tool := fs.String("tool", "", "tool whose report to count")
	rep := fs.String("report", "", "report file")
	work := fs.String("work", "", "run directory")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "gen-tf":
		return genTerraform(*out, *files, *seed)
	case "gen-k8s":
		return genKubernetes(*out, *files, *seed)
	case "count":
		n, f, err := count(*tool, *rep)
		if err != nil {
			return err
		}
		fmt.Printf("%d\t%d\n", n, f)
		return nil
	case "report":
		return report(*work, *out)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
