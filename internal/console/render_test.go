package console

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJSONSummary(t *testing.T) {
	for in, want := range map[string]string{
		``:                              ``,
		`{"b":1,"a":"x"}`:               `a: x · b: 1`,
		`{"args":["nc","-e"],"k":true}`: `args: nc -e · k: true`,
		`[1,2]`:                         `[1,2]`,
		`{"n":{"deep":1}}`:              `n: {"deep":1}`,
	} {
		if got := jsonSummary(json.RawMessage(in), 300); got != want {
			t.Errorf("jsonSummary(%s) = %q, want %q", in, got, want)
		}
	}
	long := `{"a":"` + strings.Repeat("é", 400) + `"}`
	if got := jsonSummary(json.RawMessage(long), 300); len(got) > 300+len("…") || !utf8.ValidString(got) {
		t.Errorf("long summary: %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

func TestParseStats(t *testing.T) {
	for _, raw := range []string{
		`{"cpuSeconds":1.5,"rssBytes":2048,"spooled":3,"dropped":4}`,
		`{"cpu_seconds":1.5,"rss_bytes":2048,"spooled":3,"dropped":4}`,
	} {
		if got := parseStats(json.RawMessage(raw)); got != (agentStats{CPUSeconds: 1.5, RSSBytes: 2048, Spooled: 3, Dropped: 4, Known: true}) {
			t.Errorf("parseStats(%s) = %+v", raw, got)
		}
	}
	if got := parseStats(json.RawMessage(`"nope"`)); got.Known {
		t.Errorf("parseStats of a string = %+v", got)
	}
}

func TestItemTable(t *testing.T) {
	tbl := newItemTable("process", []item{{Key: "1", Data: json.RawMessage(`{"pid":1,"name":"init","cmdline":["/sbin/init","--x"],"rssBytes":1048576}`)}})
	if tbl.Cols[0] != "pid" || tbl.Rows[0].Cells[0] != "1" || tbl.Rows[0].Cells[4] != "/sbin/init --x" || tbl.Rows[0].Cells[5] != "1.0 MiB" {
		t.Errorf("process table %+v", tbl)
	}
	// Unknown kinds show their first fields.
	g := newItemTable("sudo", []item{{Key: "k", Data: json.RawMessage(`{"z":1,"a":2,"b":3,"c":4,"d":5,"e":6,"f":7}`)}, {Key: "bad", Data: json.RawMessage(`[]`)}})
	if strings.Join(g.Cols, ",") != "a,b,c,d,e,f" || len(g.Rows) != 2 || g.Rows[1].Cells[0] != "" {
		t.Errorf("generic table %+v", g)
	}
}

// FuzzAPIData feeds agent-controlled JSON (event data, item records,
// stats, attributes) to the functions that render it.
func FuzzAPIData(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"pid":1,"cmdline":["x"]}`, `[]`, `null`, `{"a":{"b":[1,{"c":null}]}}`, `"\xff"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := json.RawMessage(raw)
		if s := jsonSummary(r, 300); len(s) > 300+len("…") {
			t.Fatalf("summary of %d bytes", len(s))
		}
		parseStats(r)
		if facts := attrFacts(r); len(facts) > 24 {
			t.Fatalf("%d facts", len(facts))
		}
		for _, kind := range []string{"process", "port", "sudo"} {
			tbl := newItemTable(kind, []item{{Key: "k", Data: r}})
			if len(tbl.Cols) > 7 || len(tbl.Rows) != 1 || len(tbl.Rows[0].Cells) != len(tbl.Cols) {
				t.Fatalf("table %+v", tbl)
			}
		}
	})
}
