package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/redact"
	"github.com/vigil-sec/vigil/internal/secret"
)

// ErrIncomplete means the command produced its output, but part of the
// target could not be read: the output is not a clean bill of health.
var ErrIncomplete = errors.New("result incomplete: part of the target could not be read")

// UsageError is a mistake in the command line.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Env is what a command may touch of the outside world.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads environment variables; nil means none are set.
	Getenv func(string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Version is the build's version string.
	Version string
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

const usage = `vigil — cloud workload protection

Usage:
  vigil scan image REF      inventory a container image (Docker Engine, docker-save
                            tarball, OCI layout directory or registry)
  vigil scan rootfs DIR     inventory an unpacked root filesystem
  vigil scan host           inventory the running machine (read-only)
  vigil scan sbom FILE      read a CycloneDX or SPDX JSON SBOM
  vigil scan secrets DIR    find leaked keys and passwords (--git: every commit;
                            --image: every layer)
  vigil scan config PATH    find misconfigurations in Terraform, Kubernetes,
                            Helm, Kustomize, Dockerfile, compose and
                            CloudFormation files ('vigil scan config -h')
  vigil policy COMMAND      list the built-in rules or test your own rules
                            ('vigil policy help')
  vigil rules COMMAND       list the runtime detection rules or test your own
                            ('vigil rules help')
  vigil db COMMAND          build, update, inspect, export or import the
                            vulnerability database ('vigil db help')
  vigil server              run the server: REST API, agent listener, assessment
                            ('vigil server -h')
  vigil version             print the version

Run 'vigil scan -h' for scan options.
`

// Run executes one vigil command line (without the program name).
func Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return usagef("no command given")
	}
	switch args[0] {
	case "scan":
		return runScan(ctx, env, args[1:])
	case "db":
		return runDB(ctx, env, args[1:])
	case "policy":
		return runPolicy(ctx, env, args[1:])
	case "rules":
		return runRules(ctx, env, args[1:])
	case "server":
		return runServer(ctx, env, args[1:])
	case "version", "--version":
		fmt.Fprintf(env.Stdout, "vigil %s\n", env.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return nil
	}
	fmt.Fprint(env.Stderr, usage)
	return usagef("unknown command %q", args[0])
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("scan image alpine --format json"), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// newLogger returns the logger for one run, writing to stderr through a
// redacting handler: whatever a log line says, no secret reaches the sink.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, usagef("bad --log-level %q: want debug, info, warn or error", level)
	}
	// Every record passes the secret scanner before it is written; the
	// scanner is built on the first record, so quiet runs do not pay for it.
	build := func() (*secret.Scanner, error) { return secret.NewScanner(secret.DefaultRules(), secret.Options{}) }
	return slog.New(redact.NewLazyHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}), build)), nil
}

// NotYetError marks a capability that is planned but not built yet.
type NotYetError struct{ What string }

func (e *NotYetError) Error() string { return e.What + ": not yet supported in this build" }

func errNotYet(what string) error { return &NotYetError{What: what} }
