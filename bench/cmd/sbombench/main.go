// Command sbombench is the Go half of bench/sbom.sh: it builds the benchmark
// corpora and turns a run's measurements and SBOMs into bench/RESULTS.md.
//
//	sbombench corpus -cache DIR -out FILE [-only NAMES]   build or find the corpora; list them in FILE
//	sbombench results -work DIR -out DIR                  write DIR/RESULTS.md and DIR/results/*.md from a run
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigil-sec/vigil/bench/internal/corpus"
	"github.com/vigil-sec/vigil/bench/internal/results"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sbombench:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: corpus or results")
	}
	fs := flag.NewFlagSet("sbombench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "corpus":
		cache := fs.String("cache", "", "directory holding the corpora")
		out := fs.String("out", "", "file to write the corpus list to")
		suite := fs.String("suite", "bullseye", "Debian release of the base layer")
		only := fs.String("only", "", "space-separated corpora to build (default all: "+strings.Join(corpus.Names, " ")+")")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *cache == "" || *out == "" {
			return errors.New("corpus: -cache and -out are required")
		}
		b := &corpus.Builder{Cache: *cache, Suite: *suite}
		cs, err := b.Build(strings.Fields(*only))
		if err != nil {
			return err
		}
		return corpus.WriteList(*out, cs)
	case "results":
		work := fs.String("work", "", "the run's directory (times.tsv, env.tsv, corpora.tsv, sbom/)")
		out := fs.String("out", "", "directory to write RESULTS.md and results/ into")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *work == "" || *out == "" {
			return errors.New("results: -work and -out are required")
		}
		return results.Write(*work, *out)
	}
	return fmt.Errorf("unknown subcommand %q (want %s)", args[0], strings.Join([]string{"corpus", "results"}, " or "))
}
