package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vigil-sec/vigil/bench/internal/corpus"
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
	bin, err := corpus.CallFixture("GoBinary", func(tb testing.TB) string {
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
