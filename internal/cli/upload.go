package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// uploadFlags send a scan's findings to a Vigil server (POST
// /api/v1/scans), so that the console shows them on the scanned tree's
// asset with the same lifecycle as the fleet's findings.
type uploadFlags struct {
	server string
	token  string
	asset  string
}

func (f *uploadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.server, "upload", "", "also send the findings to this Vigil server (https://host:port); the token comes from $VIGIL_TOKEN")
	fs.StringVar(&f.asset, "asset", "", "with --upload: the name the scanned tree has on the server, e.g. a repository URL (default: PATH made absolute)")
}

// uploadFinding is one finding of POST /api/v1/scans.
type uploadFinding struct {
	ID       string          `json:"id"`
	RuleID   string          `json:"ruleId"`
	Severity string          `json:"severity"`
	Title    string          `json:"title"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// newUploadFinding builds one uploaded finding: the title cut to the
// server's 1 KiB bound, the finding itself as data unless it is over the
// server's 64 KiB bound (the rest of the finding says enough then).
func newUploadFinding(id, ruleID, severity, title string, finding any) uploadFinding {
	data, _ := json.Marshal(finding)
	if len(data) > 60<<10 {
		data = nil
	}
	return uploadFinding{ID: id, RuleID: ruleID, Severity: severity, Title: truncateUTF8(title, 1024), Data: data}
}

// uploadResult is the server's answer.
type uploadResult struct {
	AssetID   string `json:"assetId"`
	New       int    `json:"new"`
	Reopened  int    `json:"reopened"`
	Fixed     int    `json:"fixed"`
	Unchanged int    `json:"unchanged"`
}

// upload sends the complete current findings of kind for the tree at
// target. The findings the server has of that kind on the tree and that
// are not listed become fixed there.
func (f *uploadFlags) upload(ctx context.Context, env *Env, target, kind string, findings []uploadFinding) error {
	if f.server == "" {
		return nil
	}
	token := env.getenv("VIGIL_TOKEN")
	if token == "" {
		return usagef("--upload: set $VIGIL_TOKEN to an API token with the write scope")
	}
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return usagef("--upload %q: want http(s)://host[:port]", f.server)
	}
	name := f.asset
	if name == "" {
		if name, err = filepath.Abs(target); err != nil {
			return err
		}
	}
	body, err := json.Marshal(map[string]any{"asset": map[string]string{"name": name}, "kind": kind, "findings": findings})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(u.String(), "/")+"/api/v1/scans", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("--upload: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return fmt.Errorf("--upload: %s: %s", resp.Status, msg)
	}
	var res uploadResult
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("--upload: the server's answer: %w", err)
	}
	fmt.Fprintf(env.Stderr, "uploaded %d %s findings of %s to %s (asset %s): %d new, %d reopened, %d fixed, %d unchanged\n",
		len(findings), kind, name, u.Host, res.AssetID, res.New, res.Reopened, res.Fixed, res.Unchanged)
	return nil
}
