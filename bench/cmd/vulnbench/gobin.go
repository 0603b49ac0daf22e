package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// goBinaryRequires are old releases of modules with advisories that the
// accuracy binary links; `go mod tidy` may raise some to what the others
// need (that is what the binary then records).
var goBinaryRequires = map[string]string{
	"github.com/gin-gonic/gin":     "v1.7.0",
	"golang.org/x/net":             "v0.0.0-20211112202133-69e39bad7dc2",
	"golang.org/x/text":            "v0.3.7",
	"github.com/dgrijalva/jwt-go":  "v3.2.0+incompatible",
	"github.com/gorilla/websocket": "v1.4.0",
	"github.com/tidwall/gjson":     "v1.6.0",
	"gopkg.in/yaml.v2":             "v2.2.2",
}

const goBinaryMain = `package main

import (
	"fmt"

	"github.com/dgrijalva/jwt-go"
	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
	"golang.org/x/net/html"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v2"
)

func main() {
	y, _ := yaml.Marshal(1)
	fmt.Println(gin.New(), html.NewTokenizer(nil), language.English, jwt.New(jwt.SigningMethodHS256),
		websocket.Upgrader{}, gjson.Get("{}", "a"), y)
}
`

// writeGoBinaryImage builds the accuracy Go binary (cached by
// internal/fixture) and writes it as a one-layer `docker save` tarball,
// /app/vulnapp, the form both tools read a binary in (osv-scanner v1.9.2
// reads Go binaries only inside images).
func writeGoBinaryImage(path string) (string, error) {
	bin, err := callFixture("GoBinary", func(tb testing.TB) string {
		return fixture.GoBinary(tb, "vulnapp", goBinaryRequires, goBinaryMain)
	})
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	for _, h := range []*tar.Header{
		{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "app/vulnapp", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return "", err
		}
	}
	if _, err := tw.Write(data); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil
	})
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = runtime.GOARCH, "linux"
	cfg.Config.Entrypoint = []string{"/app/vulnapp"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return "", err
	}
	ref, err := name.NewTag("vigil-bench/vulnapp:1")
	if err != nil {
		return "", err
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return bin, nil
}

// programTB lets a program call the internal/fixture builders, which take
// a testing.TB. Fatal and Skip end the builder's goroutine, as in a test;
// callFixture turns them into an error. The embedded nil TB makes any
// other method panic, which callFixture reports too.
type programTB struct {
	testing.TB
	name string
	err  error
}

func (t *programTB) Helper()             {}
func (t *programTB) Name() string        { return t.name }
func (t *programTB) Failed() bool        { return t.err != nil }
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
func (t *programTB) Fatalf(format string, args ...any) { t.Errorf(format, args...); t.FailNow() }
func (t *programTB) Fatal(args ...any)                 { t.Fatalf("%s", fmt.Sprint(args...)) }
func (t *programTB) Skipf(format string, args ...any) {
	t.err = fmt.Errorf("skipped: %s", fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (t *programTB) Skip(args ...any) { t.Skipf("%s", fmt.Sprint(args...)) }
func (t *programTB) SkipNow()         { t.Skipf("skipped") }

func callFixture[T any](name string, build func(testing.TB) T) (out T, err error) {
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
