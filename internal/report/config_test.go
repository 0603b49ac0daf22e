package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/vigil-sec/vigil/internal/policy"
)

// TestWriteConfigJSON: the streamed document is valid JSON and decodes to
// what it describes, whichever optional parts are present.
func TestWriteConfigJSON(t *testing.T) {
	f := policy.Finding{RuleID: "T-1", Severity: finding.SeverityHigh, Address: "a.b", Location: iac.Location{File: "main.tf"}}
	for _, tc := range []struct {
		name string
		r    ConfigReport
	}{
		{"empty", ConfigReport{Target: "."}},
		{"findings", ConfigReport{Target: ".", Findings: []policy.Finding{f, f}}},
		{"problems", ConfigReport{Target: ".", Problems: []iac.FileError{{File: "x.yaml", Err: errors.New("bad")}}}},
		{"warnings", ConfigReport{Target: ".", Findings: []policy.Finding{f}, Warnings: []string{"w"}}},
		{"both", ConfigReport{Target: ".", Problems: []iac.FileError{{File: "x.yaml", Err: errors.New("bad")}}, Warnings: []string{"w"},
			RuleErrors: []policy.EvalError{{RuleID: "T-2", File: "y.tf", Address: "c.d", Err: errors.New("no such key")}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteConfigJSON(&buf, &tc.r, Tool{Name: "vigil", Version: "t"}, time.Unix(0, 0)); err != nil {
				t.Fatal(err)
			}
			var doc ConfigDocument
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			if len(doc.Findings) != len(tc.r.Findings) || len(doc.Warnings) != len(tc.r.Warnings) ||
				len(doc.Problems) != len(tc.r.Problems)+len(tc.r.RuleErrors) || doc.Complete != (len(tc.r.Problems) == 0) ||
				doc.SchemaVersion != ConfigSchemaVersion || doc.Findings == nil {
				t.Errorf("decoded %+v", doc)
			}
		})
	}
}
