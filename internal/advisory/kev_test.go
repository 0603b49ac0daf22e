package advisory

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseKEV(t *testing.T) {
	want := []KEV{
		{
			CVE: "CVE-2021-44228", VendorProject: "Apache", Product: "Log4j2",
			Name:      "Apache Log4j2 Remote Code Execution Vulnerability",
			DateAdded: day("2021-12-10"), DueDate: day("2021-12-24"),
			RequiredAction:     "Apply updates per vendor instructions.",
			KnownRansomwareUse: true,
		},
		{
			CVE: "CVE-2023-4966", VendorProject: "Citrix", Product: "NetScaler ADC and NetScaler Gateway",
			Name:      "Citrix NetScaler ADC and NetScaler Gateway Buffer Overflow Vulnerability",
			DateAdded: day("2023-10-18"), DueDate: day("2023-11-08"),
			RequiredAction:     "Apply mitigations per vendor instructions or discontinue use of the product if mitigations are unavailable.",
			KnownRansomwareUse: true,
		},
		{
			CVE: "CVE-2022-22965", VendorProject: "VMware", Product: "Spring Framework",
			Name:      "Spring Framework JDK 9+ Remote Code Execution Vulnerability",
			DateAdded: day("2022-04-04"), DueDate: day("2022-04-25"),
			RequiredAction: "Apply updates per vendor instructions.",
		},
	}
	for _, file := range []string{"known_exploited_vulnerabilities.json", "known_exploited_vulnerabilities.csv"} {
		t.Run(file, func(t *testing.T) {
			f, err := os.Open("testdata/kev/" + file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got []KEV
			if err := ParseKEV(f, func(k KEV) error { got = append(got, k); return nil }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKEVErrors(t *testing.T) {
	const csvHead = "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,knownRansomwareCampaignUse,notes\n"
	for _, tc := range []struct {
		name, data string
		want       error
	}{
		{"empty", "", ErrFormat},
		{"json no array", `{"title": "x"}`, ErrFormat},
		{"json array type", `{"vulnerabilities": {}}`, ErrFormat},
		{"json truncated", `{"vulnerabilities": [{"cveID": "CVE-2021-44228"`, ErrFormat},
		{"json bad cve", `{"vulnerabilities": [{"cveID": "log4shell"}]}`, ErrFormat},
		{"json bad date", `{"vulnerabilities": [{"cveID": "CVE-2021-44228", "dateAdded": "12/10/2021"}]}`, ErrFormat},
		{"json deep", `{"x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `, "vulnerabilities": []}`, ErrFormat},
		{"csv no cveID", "vendorProject,product\nApache,Log4j2\n", ErrFormat},
		{"csv bad quote", csvHead + `CVE-2021-44228,"Apache` + "\n", ErrFormat},
		{"csv bad date", csvHead + "CVE-2021-44228,Apache,Log4j2,n,2021-13-40,d,a,2021-12-24,Known,\n", ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ParseKEV(strings.NewReader(tc.data), func(KEV) error { return nil })
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}

	stop := errors.New("stop")
	n := 0
	err := ParseKEV(strings.NewReader(`{"vulnerabilities": [{"cveID": "CVE-2021-44228"}, {"cveID": "CVE-2021-45046"}]}`), func(KEV) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("err %v after %d calls", err, n)
	}
}
