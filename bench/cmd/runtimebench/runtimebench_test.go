package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSensorMode(t *testing.T) {
	tests := []struct {
		name, log, want string
	}{
		{"info line", `time=x level=INFO msg="runtime protection" sensor=ebpf rules=89 response=off`, "ebpf"},
		{"degraded warn", `level=INFO msg="runtime protection" sensor="degraded: no BTF"` + "\n" +
			`level=WARN msg="runtime protection is degraded: eBPF unavailable" mode="degraded: no BTF"`, "degraded: no BTF"},
		{"json", `{"msg":"started","mode":"ebpf"}`, "ebpf"},
		{"nothing", `level=WARN msg="CPU cap not enforced"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sensorMode([]byte(tt.log)); got != tt.want {
				t.Errorf("sensorMode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	text := `# HELP vigil_sensor_events_total Events.
# TYPE vigil_sensor_events_total counter
vigil_sensor_events_total{kind="exec"} 3000
vigil_sensor_events_total{kind="open"} 12
vigil_sensor_ringbuf_drops_total{kind="exec"} 0
vigil_sensor_ringbuf_drops_total{kind="open"} 7
vigil_sensor_mode{mode="degraded: not root"} 1
process_resident_memory_bytes 4.2e+07
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := m.sum(eventsMetric); !ok || got != 3012 {
		t.Errorf("events = %v, %v; want 3012", got, ok)
	}
	if got, _ := m.sum(dropsMetric); got != 7 {
		t.Errorf("drops = %v, want 7", got)
	}
	if got := m["process_resident_memory_bytes"]; got != 42e6 {
		t.Errorf("rss = %v", got)
	}
	if got := metricsMode(m); got != "degraded: not root" {
		t.Errorf("metricsMode = %q", got)
	}
	if k, ok := kindOf(`vigil_sensor_events_total{kind="open"}`, eventsMetric); !ok || k != "open" {
		t.Errorf("kindOf = %q, %v", k, ok)
	}
}

func TestLoops(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"exec-loop", "-n", "5", "-w", "2"},
		{"open-loop", "-n", "100", "-w", "2", "-path", f},
		{"connect-loop", "-n", "50", "-w", "2"},
	} {
		t.Run(args[0], func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := run(context.Background(), args, &out, &errb); err != nil {
				t.Fatalf("%v: %v (%s)", args, err, errb.String())
			}
			f := strings.Fields(out.String())
			if len(f) != 3 || f[2] != "0" {
				t.Fatalf("output %q, want elapsed, ops, 0 errors", out.String())
			}
			want := map[string]string{"exec-loop": "5", "open-loop": "200", "connect-loop": "50"}[args[0]]
			if f[1] != want {
				t.Errorf("ops = %s, want %s", f[1], want)
			}
		})
	}
	if err := run(context.Background(), []string{"open-loop", "-n", "1", "-path", "/nonexistent/x"}, new(bytes.Buffer), new(bytes.Buffer)); err == nil {
		t.Error("open-loop of a missing file: no error")
	}
}

// TestReport writes the report of testdata/work (a small run: two rounds
// of the exec and open-watched loops) and checks the goals' verdicts.
func TestReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "RUNTIME.md")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"report", "-work", "testdata/work", "-out", out}, &stdout, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"| fork+exec loop: under 5 % added time | +2.0 % (fastest runs: +2.0 %) | met |",
		"| open/close loop, watched file: under 10 % added time | +20.0 % (fastest runs: +20.0 %) | **not met** |",
		"| idle agent: under 1 % of a core | 0.25 % (over 60 s, while other users' work made 12 events) | met |",
		"| RSS under 80 MiB (idle, and peak during the loops) | idle 40 MiB, peak 60 MiB | met |",
		"| zero ring-buffer drops during the flat-out exec and open/close loops | 5 (exec 0, open-watched 5) | **not met** |",
		"| fork+exec loop: Vigil's added time within 2× bpftrace's | Vigil +2.0 %, bpftrace +1.0 % (2.0×) | met |",
		"Alerts by rule over all rounds: VGL-RT-060 ×2; 0 of them",
		"**The agent delivered fewer `open` events than operations**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	sum := stdout.String()
	for _, want := range []string{"added +2.0 % to a 3,000-exec loop (bpftrace +1.0 %)", "5 ring-buffer drops", "Goals met: 4 of 6"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
}

// TestWaitAgent: ready when the metrics say ebpf; refused (errDegraded)
// when the metrics or the log say degraded.
func TestWaitAgent(t *testing.T) {
	tests := []struct {
		name, metricsMode, log string
		wantErr                error
		wantOut                string
	}{
		{"ebpf from metrics", "ebpf", "level=WARN msg=unrelated\n", nil, "ebpf"},
		{"degraded from metrics", "degraded: no BTF", "", errDegraded, ""},
		{"degraded from log", "ebpf", `level=WARN msg="runtime protection is degraded" mode="degraded: not root"` + "\n", errDegraded, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, "vigil_sensor_mode{mode=%q} 1\nvigil_sensor_events_total{kind=\"exec\"} 1\n", tt.metricsMode)
			}))
			defer srv.Close()
			log := filepath.Join(t.TempDir(), "agent.log")
			if err := os.WriteFile(log, []byte(tt.log), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := run(context.Background(), []string{"wait-agent", "-pid", fmt.Sprint(os.Getpid()), "-log", log,
				"-url", srv.URL, "-timeout", "2s", "-require-mode"}, &out, new(bytes.Buffer))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantOut != "" && !strings.HasPrefix(out.String(), tt.wantOut+" ") {
				t.Errorf("output %q, want %q first", out.String(), tt.wantOut)
			}
		})
	}
}
