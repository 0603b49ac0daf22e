package corpus

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
)

// ErrUnavailable is returned when a fixture builder skips: a tool it needs is
// missing, or it needs root.
var ErrUnavailable = errors.New("fixture unavailable")

// programTB lets a program call the internal/fixture builders, which take a
// testing.TB because tests are their main users. Fatal and Skip end the
// builder's goroutine (as they do in a test) and are turned into an error by
// CallFixture. Only the methods the builders use are implemented; the
// embedded nil TB makes any other call panic, which CallFixture reports.
type programTB struct {
	testing.TB
	name string
	err  error
}

func (t *programTB) Helper()      {}
func (t *programTB) Name() string { return t.name }
func (t *programTB) Failed() bool { return t.err != nil }

func (t *programTB) Logf(string, ...any) {}
func (t *programTB) Log(...any)          {}

func (t *programTB) Errorf(format string, args ...any) {
	if t.err == nil {
		t.err = fmt.Errorf(format, args...)
	}
}

func (t *programTB) Error(args ...any) { t.Errorf("%s", fmt.Sprint(args...)) }

func (t *programTB) FailNow() {
	if t.err == nil {
		t.err = errors.New("failed")
	}
	runtime.Goexit()
}

func (t *programTB) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	t.FailNow()
}

func (t *programTB) Fatal(args ...any) { t.Fatalf("%s", fmt.Sprint(args...)) }

func (t *programTB) Skipf(format string, args ...any) {
	t.err = fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (t *programTB) Skip(args ...any) { t.Skipf("%s", fmt.Sprint(args...)) }
func (t *programTB) SkipNow()         { t.Skipf("skipped") }

// CallFixture runs build, a call of an internal/fixture builder, and returns
// its result, or the error it failed or skipped with.
func CallFixture[T any](name string, build func(testing.TB) T) (out T, err error) {
	t := &programTB{name: name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				t.err = fmt.Errorf("panic: %v", r)
			}
		}()
		out = build(t)
	}()
	<-done
	if t.err != nil {
		return out, fmt.Errorf("fixture %s: %w", name, t.err)
	}
	return out, nil
}
