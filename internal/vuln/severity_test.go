package vuln

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/finding"
)

// TestScoreVector checks base scores of real vectors against the scores
// NVD and FIRST's calculators publish for them.
func TestScoreVector(t *testing.T) {
	tests := []struct {
		typ    advisory.SeverityType
		vector string
		ver    string
		score  float64
		sev    finding.Severity
	}{
		// CVE-2021-44228 (Log4Shell), NVD v3.1
		{advisory.CVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "3.1", 10.0, finding.SeverityCritical},
		// CVE-2019-20477 (PyYAML), NVD v3.1
		{advisory.CVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "3.1", 9.8, finding.SeverityCritical},
		// CVE-2022-27664 (net/http HTTP/2 DoS), NVD v3.1
		{advisory.CVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "3.1", 7.5, finding.SeverityHigh},
		// CVE-2020-26235 (time crate), RustSec v3.1
		{advisory.CVSSv3, "CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "3.1", 6.2, finding.SeverityMedium},
		// A reflected XSS, v3.1
		{advisory.CVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "3.1", 6.1, finding.SeverityMedium},
		// CVE-2014-0160 (Heartbleed), NVD v3.x
		{advisory.CVSSv3, "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "3.0", 7.5, finding.SeverityHigh},
		{advisory.CVSSv3, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", "3.1", 3.7, finding.SeverityLow},
		{advisory.CVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "3.1", 0.0, finding.SeverityLow},
		// CVE-2014-0160, NVD v2
		{advisory.CVSSv2, "AV:N/AC:L/Au:N/C:P/I:N/A:N", "2.0", 5.0, finding.SeverityMedium},
		{advisory.CVSSv2, "AV:N/AC:L/Au:N/C:P/I:P/A:P", "2.0", 7.5, finding.SeverityHigh},
		{advisory.CVSSv2, "AV:N/AC:L/Au:N/C:C/I:C/A:C", "2.0", 10.0, finding.SeverityCritical},
		{advisory.CVSSv2, "AV:N/AC:M/Au:N/C:N/I:P/A:N", "2.0", 4.3, finding.SeverityMedium},
		// CVSS v4.0, FIRST calculator
		{advisory.CVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 9.3, finding.SeverityCritical},
		{advisory.CVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", "4.0", 8.7, finding.SeverityHigh},
		{advisory.CVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", "4.0", 5.3, finding.SeverityMedium},
		{advisory.CVSSv4, "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 8.5, finding.SeverityHigh},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			c, err := scoreVector(advisory.Severity{Type: tt.typ, Vector: tt.vector})
			if err != nil {
				t.Fatal(err)
			}
			if c.Version != tt.ver || c.Score != tt.score {
				t.Errorf("got %s %.1f, want %s %.1f", c.Version, c.Score, tt.ver, tt.score)
			}
			if got := rating(c.Score); got != tt.sev {
				t.Errorf("rating(%.1f) = %v, want %v", c.Score, got, tt.sev)
			}
		})
	}
	for _, bad := range []string{"", "CVSS:3.1/AV:N", "CVSS:9.9/AV:N", "CVSS:4.0/AV:X/AC:L"} {
		if _, err := scoreVector(advisory.Severity{Type: advisory.CVSSv3, Vector: bad}); err == nil {
			t.Errorf("scoreVector(%q): no error", bad)
		}
	}
}

func TestBestCVSS(t *testing.T) {
	v2 := advisory.Severity{Type: advisory.CVSSv2, Vector: "AV:N/AC:L/Au:N/C:C/I:C/A:C"}                                       // 10.0
	v30 := advisory.Severity{Type: advisory.CVSSv3, Vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}                    // 9.8
	v31lo := advisory.Severity{Type: advisory.CVSSv3, Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"}                  // 3.7
	v31hi := advisory.Severity{Type: advisory.CVSSv3, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}                  // 7.5
	v40 := advisory.Severity{Type: advisory.CVSSv4, Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N"} // 5.3
	bad := advisory.Severity{Type: advisory.CVSSv4, Vector: "CVSS:4.0/nonsense"}
	for _, tt := range []struct {
		in   []advisory.Severity
		ver  string
		want float64
	}{
		{[]advisory.Severity{v2, v30, v31lo, v40}, "4.0", 5.3},   // v4 preferred even when lower
		{[]advisory.Severity{v2, v30, v31lo, v31hi}, "3.1", 7.5}, // highest within v3.1
		{[]advisory.Severity{v2, v30}, "3.0", 9.8},
		{[]advisory.Severity{bad, v2}, "2.0", 10.0},
	} {
		got, ok := bestCVSS(tt.in)
		if !ok || got.Version != tt.ver || got.Score != tt.want {
			t.Errorf("bestCVSS = %+v %v, want %s %.1f", got, ok, tt.ver, tt.want)
		}
	}
	if _, ok := bestCVSS([]advisory.Severity{bad}); ok {
		t.Error("bestCVSS of unreadable vectors: ok")
	}
}

func TestTextSeverity(t *testing.T) {
	for in, want := range map[string]finding.Severity{
		"critical": finding.SeverityCritical, "HIGH": finding.SeverityHigh, "important": finding.SeverityHigh,
		"moderate": finding.SeverityMedium, "medium": finding.SeverityMedium, "low": finding.SeverityLow,
		"unimportant": finding.SeverityLow, "negligible": finding.SeverityLow, "not yet assigned": finding.SeverityUnknown, "": finding.SeverityUnknown,
	} {
		if got := textSeverity(in); got != want {
			t.Errorf("textSeverity(%q) = %v, want %v", in, got, want)
		}
	}
}
