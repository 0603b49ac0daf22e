package hostinv

import (
	"reflect"
	"testing"
)

const sshUnit = `[Unit]
Description=OpenBSD Secure Shell server
Documentation=man:sshd(8) man:sshd_config(5)
After=network.target auditd.service
ConditionPathExists=!/etc/ssh/sshd_not_to_be_run

[Service]
EnvironmentFile=-/etc/default/ssh
ExecStartPre=/usr/sbin/sshd -t
ExecStart=/usr/sbin/sshd -D $SSHD_OPTS
ExecReload=/usr/sbin/sshd -t
KillMode=process
Restart=on-failure
Type=notify
RuntimeDirectory=sshd

[Install]
WantedBy=multi-user.target
Alias=sshd.service
`

func TestParseUnit(t *testing.T) {
	settings, probs := parseUnit([]byte(sshUnit))
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	var svc Service
	applyUnit(&svc, settings)
	want := Service{Description: "OpenBSD Secure Shell server", ExecStart: []string{"/usr/sbin/sshd -D $SSHD_OPTS"}, Type: "notify", WantedBy: []string{"multi-user.target"}}
	if !reflect.DeepEqual(svc, want) {
		t.Errorf("got %+v\nwant %+v", svc, want)
	}
}

func TestParseUnitSyntax(t *testing.T) {
	in := `; comment
orphan=1
[Service]
ExecStart=/bin/a \
  --flag \
# a comment inside the continuation
  --last
User = app
not an assignment
[Broken
[Service]
ExecStart=
ExecStart=-/bin/b
`
	settings, probs := parseUnit([]byte(in))
	var svc Service
	applyUnit(&svc, settings)
	if want := []string{"-/bin/b"}; !reflect.DeepEqual(svc.ExecStart, want) {
		t.Errorf("ExecStart %q, want %q", svc.ExecStart, want)
	}
	if svc.User != "app" {
		t.Errorf("User %q", svc.User)
	}
	if settings[0].value != "/bin/a --flag --last" {
		t.Errorf("continued value %q", settings[0].value)
	}
	var lines []int
	for _, p := range probs {
		lines = append(lines, p.line)
	}
	if want := []int{2, 9, 10}; !reflect.DeepEqual(lines, want) {
		t.Errorf("problem lines %v, want %v (%v)", lines, want, probs)
	}
}

func TestTemplateName(t *testing.T) {
	tests := map[string]string{
		"getty@tty1.service":       "getty@.service",
		"getty@.service":           "",
		"ssh.service":              "",
		"a@b@c.service":            "a@.service",
		"systemd-fsck@dev-x.mount": "systemd-fsck@.mount",
	}
	for in, want := range tests {
		got, ok := templateName(in)
		if (want != "") != ok || got != want {
			t.Errorf("templateName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func FuzzParseUnit(f *testing.F) {
	f.Add([]byte(sshUnit))
	f.Add([]byte("[Service]\nExecStart=/a \\\n#c\n b\\\n"))
	f.Add([]byte("[\n[]\n=\nx=\n[S]\n = \\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		settings, _ := parseUnit(data)
		if len(settings) > maxUnitSettings {
			t.Fatalf("%d settings, limit %d", len(settings), maxUnitSettings)
		}
		for _, s := range settings {
			if s.section == "" || s.key == "" {
				t.Fatalf("setting without section or key: %+v", s)
			}
		}
		var svc Service
		applyUnit(&svc, settings)
	})
}
