package hostinv

import (
	"reflect"
	"testing"
)

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want OS
	}{
		{
			name: "debian",
			in: `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`,
			want: OS{ID: "debian", Name: "Debian GNU/Linux", VersionID: "12", VersionCodename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		},
		{
			name: "rhel-like with id_like and comments",
			in:   "# comment\nNAME='Rocky Linux'\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n",
			want: OS{ID: "rocky", IDLike: []string{"rhel", "centos", "fedora"}, Name: "Rocky Linux", VersionID: "9.3", PrettyName: "Rocky Linux 9.3 (Blue Onyx)"},
		},
		{
			name: "escapes, CRLF and junk",
			in:   "ID=alpine\r\nPRETTY_NAME=\"Say \\\"hi\\\" \\$x\"\r\nnot a line\n=novalue\n1BAD=x\nVERSION_ID=3.19.1\n",
			want: OS{ID: "alpine", VersionID: "3.19.1", PrettyName: `Say "hi" $x`},
		},
		{
			name: "unterminated quote",
			in:   "ID=\"weird\nNAME=x",
			want: OS{ID: "weird", Name: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := osFromRelease(parseOSRelease([]byte(tt.in)))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseOSRelease(f *testing.F) {
	f.Add([]byte("ID=debian\nVERSION_ID=\"12\"\n"))
	f.Add([]byte("PRETTY_NAME='a \\' b'\nID_LIKE=\"x y\"\\\n"))
	f.Add([]byte("\"\"\"=\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		vars := parseOSRelease(data)
		if len(vars) > maxOSReleaseVars {
			t.Fatalf("%d variables kept, limit %d", len(vars), maxOSReleaseVars)
		}
		for k := range vars {
			if !isEnvName(k) {
				t.Fatalf("kept bad name %q", k)
			}
		}
	})
}
