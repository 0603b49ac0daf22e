package secret

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		"", "\n", "vtok_" + tok(1, 24), "t = vtok_" + tok(2, 24) + " # vigil:ignore test-token why\n",
		pemKey(3, 3, "\n"), pemKey(4, 3, "\r\n"), "VKID" + strings.ToUpper(tok(5, 16)) + "\nvsecret=" + tok(6, 32),
		"\x00\x01vtok_" + tok(7, 24), "nearkw NEAR0f3a9c1e7b2d5a48", "vigil:ignore", "vigil:ignore \n",
	} {
		f.Add([]byte(seed))
	}
	s := newTestScanner(f, DefaultRules()...)
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, fd := range s.Scan(data, Location{Path: "fuzz.txt"}) {
			if fd.Line < 1 || fd.Line > lines || fd.Column < 1 || fd.Column > len(data) {
				t.Errorf("%s at %d:%d outside %d lines, %d bytes", fd.RuleID, fd.Line, fd.Column, lines, len(data))
			}
			checkRedacted(t, fd.Redacted)
			if fd.Paired != "" {
				checkRedacted(t, fd.Paired)
			}
			if len(fd.Fingerprint) != 32 {
				t.Errorf("fingerprint %q", fd.Fingerprint)
			}
		}
	})
}

func FuzzLoadBaseline(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"version":1,"fingerprints":[]}`,
		`{"version":1,"fingerprints":[{"fingerprint":"00112233445566778899aabbccddeeff","ruleId":"r","path":"p","reason":"x"}]}`,
		`{"version":1,"fingerprints":[{"fingerprint":"zz"}]}`, `{"version":1,"fingerprints":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := LoadBaseline(bytes.NewReader(data))
		if err != nil {
			if b != nil {
				t.Errorf("baseline %v with error %v", b, err)
			}
			return
		}
		fs := []Finding{{Fingerprint: "00112233445566778899aabbccddeeff"}, {Fingerprint: "x"}}
		b.Apply(fs)
		if fs[1].Suppressed != "" {
			t.Errorf("malformed fingerprint suppressed")
		}
	})
}
