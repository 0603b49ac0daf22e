package inventory

import (
	"bytes"
	"log"
	"log/slog"
	"os"
	"strings"
	"testing"

	scalibrlog "github.com/google/osv-scalibr/log"
)

// TestRouteExtractorLog: the extractors' own log lines go to the given
// logger at debug level, never to the standard logger.
func TestRouteExtractorLog(t *testing.T) {
	var std, routed bytes.Buffer
	log.SetOutput(&std)
	t.Cleanup(func() { log.SetOutput(os.Stderr); scalibrlog.SetLogger(&scalibrlog.DefaultLogger{}) })

	RouteExtractorLog(slog.New(slog.NewTextHandler(&routed, &slog.HandlerOptions{Level: slog.LevelDebug})))
	scalibrlog.Errorf("openAndExtractFromFile(%q): gone", "a/b")
	scalibrlog.Warn("w")
	if std.Len() != 0 {
		t.Errorf("standard logger got %q", std.String())
	}
	got := routed.String()
	for _, want := range []string{`level=DEBUG msg="openAndExtractFromFile(\"a/b\"): gone" component=scalibr`, `msg=w component=scalibr`} {
		if !strings.Contains(got, want) {
			t.Errorf("routed log %q lacks %q", got, want)
		}
	}

	// At the usual info level they are not printed at all.
	routed.Reset()
	RouteExtractorLog(slog.New(slog.NewTextHandler(&routed, nil)))
	scalibrlog.Error("e")
	if routed.Len() != 0 || std.Len() != 0 {
		t.Errorf("info-level logger printed %q, standard logger %q", routed.String(), std.String())
	}
}
