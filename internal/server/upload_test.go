package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/cli"
)

// TestScanUploadFromCLI: `vigil scan config --upload` sends a tree's
// misconfigurations to a real server, where they are findings of the
// tree's repository asset; fixing the file and scanning again marks them
// fixed there.
func TestScanUploadFromCLI(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "vulndb.sqlite")
	buildDB(t, dbPath, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false)
	s, c := startServer(t, filepath.Join(dir, "data"), dbPath)

	tree := filepath.Join(dir, "infra")
	os.MkdirAll(tree, 0o755)
	tf := filepath.Join(tree, "main.tf")
	write := func(acl string) {
		t.Helper()
		src := "resource \"aws_s3_bucket_acl\" \"logs\" {\n  bucket = \"logs\"\n  acl    = \"" + acl + "\"\n}\n"
		if err := os.WriteFile(tf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scan := func() string {
		t.Helper()
		var out bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &out, Version: "test",
			Getenv: func(k string) string { return map[string]string{"VIGIL_TOKEN": c.token}[k] }}
		err := cli.Run(context.Background(), env, []string{"scan", "config", tree, "-o", os.DevNull, "--upload", s.APIURL, "--asset", "git.example.internal/infra"})
		if err != nil {
			t.Fatalf("vigil scan config --upload: %v\n%s", err, out.String())
		}
		return out.String()
	}
	write("public-read")
	t.Log(scan())

	var assets page[struct{ ID, Kind, Name string }]
	c.do("GET", "/api/v1/assets?kind=repository", nil, &assets)
	if len(assets.Items) != 1 || assets.Items[0].Name != "git.example.internal/infra" {
		t.Fatalf("repository assets %+v", assets.Items)
	}
	repo := assets.Items[0].ID
	type fnd struct{ RuleID, Status, Kind string }
	var first page[fnd]
	c.do("GET", "/api/v1/findings?limit=100&kind=misconfiguration&asset_id="+repo, nil, &first)
	open := map[string]bool{}
	for _, f := range first.Items {
		if f.Status != "new" {
			t.Errorf("finding %+v after the first upload", f)
		}
		open[f.RuleID] = true
	}
	if len(open) == 0 {
		t.Fatal("no misconfiguration on the repository after the upload of a public bucket ACL")
	}

	write("private")
	t.Log(scan())
	var second page[fnd]
	c.do("GET", "/api/v1/findings?limit=100&kind=misconfiguration&status=fixed&asset_id="+repo, nil, &second)
	if len(second.Items) == 0 {
		t.Errorf("no finding fixed after the ACL was made private (first upload: %v)", open)
	}
}

// TestSecretsUploadFromCLI: `vigil scan secrets --upload` sends the
// redacted findings, one per place, never the secret itself.
func TestSecretsUploadFromCLI(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "vulndb.sqlite")
	buildDB(t, dbPath, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), false)
	s, c := startServer(t, filepath.Join(dir, "data"), dbPath)
	tree := filepath.Join(dir, "app")
	os.MkdirAll(tree, 0o755)
	// An AWS key pair in two files: one secret, two places.
	const keyID, secretKey = "AKIAZ7X3Q2WLMNBV4K5P", "q9Xv2Lm8Rt4Wz7Kp1Yb6Nc3Hd5Fg0Js8Ue2Ai7Oo"
	body := "aws_access_key_id = " + keyID + "\naws_secret_access_key = " + secretKey + "\n"
	for _, f := range []string{"a.env", "b.env"} {
		if err := os.WriteFile(filepath.Join(tree, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &out, Version: "test",
		Getenv: func(k string) string { return map[string]string{"VIGIL_TOKEN": c.token}[k] }}
	if err := cli.Run(context.Background(), env, []string{"scan", "secrets", tree, "-o", os.DevNull, "--upload", s.APIURL}); err != nil {
		t.Fatalf("vigil scan secrets --upload: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	var assets page[struct{ ID, Name string }]
	c.do("GET", "/api/v1/assets?kind=repository", nil, &assets)
	if len(assets.Items) != 1 || assets.Items[0].Name != tree {
		t.Fatalf("repository assets %+v, want one named %s", assets.Items, tree)
	}
	var fs page[json.RawMessage]
	c.do("GET", "/api/v1/findings?limit=100&kind=secret&asset_id="+assets.Items[0].ID, nil, &fs)
	if len(fs.Items) < 2 {
		t.Errorf("%d secret findings, want one per file at least", len(fs.Items))
	}
	for _, f := range fs.Items {
		var full json.RawMessage
		var id struct{ ID string }
		json.Unmarshal(f, &id)
		c.do("GET", "/api/v1/findings/"+id.ID, nil, &full)
		if bytes.Contains(full, []byte(secretKey)) || bytes.Contains(full, []byte(keyID)) {
			t.Errorf("the server holds the secret itself: %s", full)
		}
	}
}
