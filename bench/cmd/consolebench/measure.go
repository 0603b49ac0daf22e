package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// target is one URL measured: a console page or an API call.
type target struct {
	Kind  string `json:"kind"` // "page" or "api"
	Group string `json:"group"`
	Name  string `json:"name"` // the page case's name
	Path  string `json:"path"` // as measured (with the cursor for next pages)
	next  bool
	// Results.
	Millis []float64 `json:"ms"`
	Status int       `json:"status"` // the last status other than 200, else 200
	Errors int       `json:"errors"` // responses other than 200
	Bytes  int       `json:"bytes"`  // of the last response
	P50    float64   `json:"p50"`
	P95    float64   `json:"p95"`
	Max    float64   `json:"max"`
}

// runInfo is the measurement's result file.
type runInfo struct {
	URL        string    `json:"url"`
	N          int       `json:"n"`
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	Picks      picks     `json:"picks"`
	Login      float64   `json:"loginMs"`
	Targets    []*target `json:"targets"`
	Skipped    []string  `json:"skipped,omitempty"` // next pages of lists with one page
	Machine    machine   `json:"machine"`
	LoadStart  string    `json:"loadStart"`
	LoadEnd    string    `json:"loadEnd"`
	ServerCPU  float64   `json:"serverCpuSeconds"`
	OtherCPUs  float64   `json:"otherCpus"` // CPUs busy with other work on average
	ServerHWM  int64     `json:"serverPeakRssBytes"`
	GoalMillis float64   `json:"goalMs"`
}

func runMeasure(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("consolebench measure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "the server, http://127.0.0.1:PORT")
	seedDir := fs.String("seed", "", "the seeded store's directory (seed.json: admin credentials, seeding day)")
	out := fs.String("out", "", "the result file (JSON)")
	n := fs.Int("n", 30, "measured requests per page and API call")
	pid := fs.Int("server-pid", 0, "the server's process ID, for its CPU time and peak RSS")
	only := fs.String("only", "", "measure only the cases whose group or name contains this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *seedDir == "" || *out == "" {
		return fmt.Errorf("measure: -url, -seed and -out are required")
	}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		return fmt.Errorf("measure: -url must be an http URL on loopback")
	}
	info, err := readSeed(*seedDir)
	if err != nil {
		return err
	}
	day, err := time.Parse(time.DateOnly, info.BaseDay)
	if err != nil {
		return err
	}
	c := &client{base: strings.TrimSuffix(*base, "/"), hc: &http.Client{
		Timeout:       2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	run := &runInfo{URL: c.base, N: *n, Started: time.Now().UTC(), Machine: machineInfo(), LoadStart: loadavg(), GoalMillis: 1000}
	t := time.Now()
	if err := c.login(ctx, info.AdminName, info.AdminPassword); err != nil {
		return err
	}
	run.Login = ms(time.Since(t))
	p, err := c.picks(ctx, day)
	if err != nil {
		return err
	}
	run.Picks = p
	fmt.Fprintf(stderr, "consolebench: host %s, image %s, container %s, vulnerabilities %s (widespread) and %s (riskiest), package %s\n",
		p.Host, p.Image, p.Container, p.PopularVuln, p.RiskiestVuln, p.Package)

	// Targets: each page, then the API calls of the pages (each once).
	var pages, apis []*target
	seen := map[string]bool{}
	for _, cs := range cases(p) {
		if *only != "" && !strings.Contains(cs.Group+" "+cs.Name, *only) {
			continue
		}
		pages = append(pages, &target{Kind: "page", Group: cs.Group, Name: cs.Name, Path: cs.Path, next: cs.Next})
		for _, a := range cs.API {
			key := fmt.Sprint(a, cs.Next)
			if seen[key] {
				continue
			}
			seen[key] = true
			apis = append(apis, &target{Kind: "api", Group: cs.Group, Name: cs.Name, Path: a, next: cs.Next})
		}
	}
	apis = append(apis, &target{Kind: "api", Group: "session", Name: "every page: who am I", Path: "/api/v1/me"})
	targets := append(pages, apis...)

	// Next pages: the first page's link (console) or cursor (API). A list
	// with one page (a small store) has none: that case is skipped.
	kept := targets[:0]
	for _, tg := range targets {
		if tg.next {
			body, status, err := c.get(ctx, tg)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("%s: status %d", tg.Path, status)
			}
			next, ok := nextOf(tg, body)
			if !ok {
				fmt.Fprintf(stderr, "consolebench: %s %s has one page only: its next page is not measured\n", tg.Kind, tg.Path)
				run.Skipped = append(run.Skipped, tg.Kind+" "+tg.Path)
				continue
			}
			tg.Path = next
		}
		kept = append(kept, tg)
	}
	targets = kept
	cpu0, pcpu0 := cpuBusy(), procCPU(*pid)
	// One unmeasured pass, then n rounds over every target: consecutive
	// requests are for different pages, as in real use, rather than the
	// same query n times over a warm cache.
	for round := -1; round < *n; round++ {
		for _, tg := range targets {
			start := time.Now()
			_, status, err := c.get(ctx, tg)
			if err != nil {
				return err
			}
			if round < 0 {
				if status != http.StatusOK {
					fmt.Fprintf(stderr, "consolebench: warning: %s %s: status %d\n", tg.Kind, tg.Path, status)
				}
				continue
			}
			tg.Millis = append(tg.Millis, ms(time.Since(start)))
			if status != http.StatusOK {
				tg.Errors++
				tg.Status = status
			} else if tg.Status == 0 {
				tg.Status = status
			}
		}
		if round >= 0 && (round+1)%5 == 0 {
			fmt.Fprintf(stderr, "consolebench: round %d of %d (%.0f s)\n", round+1, *n, time.Since(t).Seconds())
		}
	}
	run.Seconds = time.Since(t).Seconds()
	run.LoadEnd = loadavg()
	if *pid > 0 {
		run.ServerCPU = procCPU(*pid) - pcpu0
		run.ServerHWM = procHWM(*pid)
	}
	run.OtherCPUs = math.Max(0, (cpuBusy()-cpu0-run.ServerCPU-selfCPU())/run.Seconds)
	for _, tg := range targets {
		tg.P50, tg.P95, tg.Max = pct(tg.Millis, 50), pct(tg.Millis, 95), pct(tg.Millis, 100)
	}
	run.Targets = targets
	if err := writeJSON(*out, run); err != nil {
		return err
	}
	fails := 0
	for _, tg := range targets {
		if tg.P95 >= run.GoalMillis || tg.Errors > 0 {
			fails++
			fmt.Fprintf(stderr, "consolebench: MISSED %s %q %s: p95 %.0f ms, %d errors\n", tg.Kind, tg.Name, tg.Path, tg.P95, tg.Errors)
		}
	}
	fmt.Fprintf(stdout, "%d pages and %d API calls measured %d times each; %d missed the goal\n", len(pages), len(apis), *n, fails)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct is the nearest-rank percentile of xs.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// client is a signed-in browser and API client.
type client struct {
	base  string
	hc    *http.Client
	token string // the API session token, which is the console's cookie
}

func (c *client) login(ctx context.Context, name, password string) error {
	form := url.Values{"name": {name}, "password": {password}, "next": {"/"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin") // what a browser sends for the console's own form
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("login: status %d (want 303)", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "vigil_session" && ck.Value != "" {
			c.token = ck.Value
			return nil
		}
	}
	return errors.New("login: no vigil_session cookie")
}

// maxBody bounds what is read of one response.
const maxBody = 64 << 20

// get requests a target as a browser (the session cookie) or an API
// client (the same token as a bearer token) and reads the whole answer.
func (c *client) get(ctx context.Context, tg *target) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+tg.Path, nil)
	if err != nil {
		return nil, 0, err
	}
	if tg.Kind == "api" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else {
		req.AddCookie(&http.Cookie{Name: "vigil_session", Value: c.token})
		req.Header.Set("Accept", "text/html")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", tg.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", tg.Path, err)
	}
	tg.Bytes = len(body)
	return body, resp.StatusCode, nil
}

// getJSON reads an API answer into v.
func (c *client) getJSON(ctx context.Context, path string, v any) error {
	tg := &target{Kind: "api", Path: path}
	body, status, err := c.get(ctx, tg)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", path, status, body)
	}
	return json.Unmarshal(body, v)
}

var nextLink = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

// nextOf is the path of the page after the one in body, if any.
func nextOf(tg *target, body []byte) (string, bool) {
	if tg.Kind == "page" {
		m := nextLink.FindSubmatch(body)
		if m == nil {
			return "", false
		}
		return html.UnescapeString(string(m[1])), true
	}
	var pg struct {
		Next string `json:"next"`
	}
	if err := json.Unmarshal(body, &pg); err != nil || pg.Next == "" {
		return "", false
	}
	return tg.Path + "&cursor=" + url.QueryEscape(pg.Next), true
}

// picks finds the assets and vulnerabilities the cases open: the
// riskiest host, image and container, the vulnerability on most assets
// and the riskiest one, that vulnerability's package, and the host's
// riskiest finding.
func (c *client) picks(ctx context.Context, day time.Time) (picks, error) {
	p := picks{Day: day}
	var assets struct {
		Items []struct {
			ID      string `json:"id"`
			AgentID string `json:"agentId"`
		} `json:"items"`
	}
	for _, k := range []struct {
		kind string
		id   *string
	}{{"host", &p.Host}, {"image", &p.Image}, {"container", &p.Container}} {
		if err := c.getJSON(ctx, "/api/v1/assets?kind="+k.kind+"&sort=risk&order=desc&limit=1", &assets); err != nil {
			return p, err
		}
		if len(assets.Items) == 0 {
			return p, fmt.Errorf("no asset of kind %s", k.kind)
		}
		*k.id = assets.Items[0].ID
		if k.kind == "host" {
			p.HostAgent = assets.Items[0].AgentID
		}
	}
	var vulns struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	for _, v := range []struct {
		sort string
		id   *string
	}{{"assets", &p.PopularVuln}, {"risk", &p.RiskiestVuln}} {
		if err := c.getJSON(ctx, "/api/v1/vulnerabilities?sort="+v.sort+"&order=desc&limit=1", &vulns); err != nil {
			return p, err
		}
		if len(vulns.Items) == 0 {
			return p, errors.New("no vulnerabilities")
		}
		*v.id = vulns.Items[0].ID
	}
	var fs struct {
		Items []struct {
			Package string `json:"package"`
		} `json:"items"`
	}
	if err := c.getJSON(ctx, "/api/v1/vulnerabilities/"+url.PathEscape(p.PopularVuln)+"?limit=1", &fs); err != nil {
		return p, err
	}
	if len(fs.Items) == 0 {
		return p, errors.New("no findings of the widespread vulnerability")
	}
	p.Package = fs.Items[0].Package
	var hf struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := c.getJSON(ctx, "/api/v1/findings?asset_id="+url.QueryEscape(p.Host)+"&limit=1", &hf); err != nil {
		return p, err
	}
	if len(hf.Items) == 0 {
		return p, errors.New("the riskiest host has no findings")
	}
	p.Finding = hf.Items[0].ID
	return p, nil
}
