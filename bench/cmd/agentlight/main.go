// Command agentlight measures how light an agent process is when idle, for
// bench/backbone.sh (issue 4): it starts the command given after "--",
// waits until it is ready (for vigil-agent: connected, its first inventory
// acknowledged and its spool empty, read from its own -metrics-addr
// endpoint), lets it settle, then watches it for the idle window without
// touching it: CPU from /proc/PID/stat (utime+stime) at the window's ends,
// VmRSS from /proc/PID/status every few seconds, VmHWM at the end.
//
//	agentlight -label vigil-agent -metrics http://127.0.0.1:9464/metrics -idle 5m -out light.json -- vigil-agent --server ...
//	agentlight -label node-exporter -idle 5m -out peer.json -- prometheus-node-exporter ...
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/vigil-sec/vigil/bench/internal/procstat"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentlight:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("agentlight", flag.ContinueOnError)
	label := fs.String("label", "vigil-agent", "name in the report")
	version := fs.String("version", "", "version string for the report")
	note := fs.String("note", "", "note for the report")
	metrics := fs.String("metrics", "", "the agent's Prometheus endpoint: wait until vigil_agent_connected is 1, a message was acknowledged and the spool is empty")
	readyTimeout := fs.Duration("ready-timeout", 15*time.Minute, "bound on becoming ready")
	settle := fs.Duration("settle", 30*time.Second, "wait after ready before the idle window")
	idle := fs.Duration("idle", 5*time.Minute, "the idle window")
	every := fs.Duration("sample", 5*time.Second, "RSS sampling interval")
	out := fs.String("out", "", "write the JSON result here (default stdout)")
	logPath := fs.String("log", "", "the command's output goes here (default: discarded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return errors.New("give the command after --")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	pid := cmd.Process.Pid
	res := procstat.Idle{Label: *label, Version: *version, Note: *note, Command: commandLine(argv)}

	// Ready.
	deadline := time.Now().Add(*readyTimeout)
	for *metrics != "" {
		ok, err := ready(ctx, *metrics)
		if ok {
			break
		}
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited before it was ready: %v", argv[0], err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %v", *readyTimeout, err)
		}
	}
	res.StartupSeconds = time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "agentlight: %s ready after %.1f s; settling %s, then idle for %s\n", *label, res.StartupSeconds, *settle, *idle)
	if !wait(ctx, exited, *settle) {
		return errors.New("interrupted or exited while settling")
	}

	// The idle window: only /proc is read.
	c0, err := procstat.CPU(pid)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var sum int64
	var peak procstat.Memory // the highest sample
	for time.Since(t0) < *idle {
		m, err := procstat.ReadMemory(pid)
		if err != nil {
			return err
		}
		sum += m.RSS
		res.Samples++
		if m.RSS > peak.RSS {
			peak = m
		}
		if !wait(ctx, exited, min(*every, *idle-time.Since(t0))) {
			return errors.New("interrupted or exited during the idle window")
		}
	}
	c1, err := procstat.CPU(pid)
	if err != nil {
		return err
	}
	res.IdleSeconds = time.Since(t0).Seconds()
	res.CPUSeconds = c1 - c0
	res.CPUPct = 100 * res.CPUSeconds / res.IdleSeconds
	res.RSSAvgKiB = sum / int64(max(res.Samples, 1))
	end, err := procstat.ReadMemory(pid)
	if err != nil {
		return err
	}
	res.RSSEndKiB, res.HWMKiB = end.RSS, end.HWM
	if end.RSS > peak.RSS {
		peak = end
	}
	res.RSSMaxKiB, res.RSSMaxAnonKiB, res.RSSMaxFileKiB, res.RSSMaxShmemKiB = peak.RSS, peak.Anon, peak.File, peak.Shmem
	fmt.Fprintf(os.Stderr, "agentlight: %s idle %.0f s: CPU %.3f%% of one core, RSS avg %.1f MiB max %.1f MiB, VmHWM %.1f MiB\n",
		*label, res.IdleSeconds, res.CPUPct, float64(res.RSSAvgKiB)/1024, float64(res.RSSMaxKiB)/1024, float64(res.HWMKiB)/1024)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	return os.WriteFile(*out, append(b, '\n'), 0o644)
}

// commandLine is argv for the report, without the enrollment token's
// secret.
func commandLine(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = a
		if i > 0 && (argv[i-1] == "--token" || argv[i-1] == "-token") {
			out[i] = "TOKEN"
		}
	}
	return strings.Join(out, " ")
}

func wait(ctx context.Context, exited chan error, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case err := <-exited:
		exited <- err
		return false
	case <-t.C:
		return true
	}
}

// ready reads vigil-agent's metrics: connected, something acknowledged,
// nothing left in the spool.
func ready(ctx context.Context, url string) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return false, err
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			m[k] = f
		}
	}
	ok := m["vigil_agent_connected"] == 1 && m["vigil_agent_messages_acked_total"] >= 1 && m["vigil_agent_spool_records"] == 0
	return ok, fmt.Errorf("connected %v, acked %v, spool records %v", m["vigil_agent_connected"], m["vigil_agent_messages_acked_total"], m["vigil_agent_spool_records"])
}
