// Command secretbench is the helper of bench/secrets.sh, the secret scanning
// benchmark (issue 7): it builds the corpus (source text copied from the Go
// module cache with secrets of known types planted at known lines), the git
// history made from it, scores each tool's findings against the planted
// ground truth and writes bench/SECRETS.md.
//
//	secretbench corpus  -src DIR -out DIR [-bytes N] [-secrets N] [-seed N]
//	secretbench gitrepo -corpus DIR -out REPO [-commits N] [-seed N]
//	secretbench score   -truth TSV -root DIR -tool vigil|gitleaks -report FILE -out JSON
//	secretbench report  -work DIR -out FILE
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: secretbench corpus|gitrepo|score|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "corpus":
		err = corpusCmd(os.Args[2:])
	case "gitrepo":
		err = gitrepoCmd(os.Args[2:])
	case "score":
		err = scoreCmd(os.Args[2:])
	case "report":
		err = reportCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "secretbench:", err)
		os.Exit(1)
	}
}
