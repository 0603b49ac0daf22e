package hostinv

import (
	"reflect"
	"strings"
	"testing"
)

const debianCrontab = `# /etc/crontab: system-wide crontab
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

# Example of job definition:
# .---------------- minute (0 - 59)
# *  *  *  *  * user-name command to be executed
17 *	* * *	root	cd / && run-parts --report /etc/cron.hourly
25 6	* * *	root	test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }
47 6	* * 7	root	test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }
52 6	1 * *	root	test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }
#
`

func TestParseCrontabSystem(t *testing.T) {
	jobs, probs := parseCrontab([]byte(debianCrontab), true)
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	if len(jobs) != 4 {
		t.Fatalf("got %d jobs, want 4: %+v", len(jobs), jobs)
	}
	want := CronJob{Schedule: "17 * * * *", User: "root", Command: "cd / && run-parts --report /etc/cron.hourly", Line: 8}
	if jobs[0] != want {
		t.Errorf("first job %+v, want %+v", jobs[0], want)
	}
	if jobs[3].Schedule != "52 6 1 * *" || jobs[3].Line != 11 {
		t.Errorf("last job %+v", jobs[3])
	}
}

func TestParseCrontab(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		system    bool
		want      []CronJob
		wantProbs []int
	}{
		{
			name: "user crontab",
			in:   "MAILTO=\"\"\n*/5 * * * * /usr/local/bin/poll --quiet  >/dev/null 2>&1\n@reboot /home/alice/start.sh\n",
			want: []CronJob{
				{Schedule: "*/5 * * * *", Command: "/usr/local/bin/poll --quiet  >/dev/null 2>&1", Line: 2},
				{Schedule: "@reboot", Command: "/home/alice/start.sh", Line: 3},
			},
		},
		{
			name:   "system keyword and names",
			in:     "@daily root /usr/bin/backup\n0 0 1 jan,jul mon-fri nobody echo a=b % stdin\n",
			system: true,
			want: []CronJob{
				{Schedule: "@daily", User: "root", Command: "/usr/bin/backup", Line: 1},
				{Schedule: "0 0 1 jan,jul mon-fri", User: "nobody", Command: "echo a=b % stdin", Line: 2},
			},
		},
		{
			name:      "malformed",
			in:        "* * * *\n@sometimes root x\n1 2 3 4 5 root\n* * * * * \n(1) * * * * root x\n",
			system:    true,
			wantProbs: []int{1, 2, 3, 4, 5},
		},
		{
			name: "leading space and CRLF",
			in:   "  0 3 * * * /bin/true\r\n",
			want: []CronJob{{Schedule: "0 3 * * *", Command: "/bin/true", Line: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, probs := parseCrontab([]byte(tt.in), tt.system)
			var lines []int
			for _, p := range probs {
				lines = append(lines, p.line)
			}
			if !reflect.DeepEqual(jobs, tt.want) || !reflect.DeepEqual(lines, tt.wantProbs) {
				t.Errorf("got %+v problems %v\nwant %+v problems at %v", jobs, probs, tt.want, tt.wantProbs)
			}
		})
	}
}

func FuzzParseCrontab(f *testing.F) {
	f.Add([]byte(debianCrontab), true)
	f.Add([]byte("@reboot x\n*/1 * * * * y\nA=B\n"), false)
	f.Add([]byte("@daily\n* * * * * root\n\"X\"=1\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, system bool) {
		jobs, _ := parseCrontab(data, system)
		for _, j := range jobs {
			if j.Schedule == "" || strings.TrimSpace(j.Command) == "" || j.Line <= 0 {
				t.Fatalf("incomplete job %+v", j)
			}
			if system == (j.User == "") {
				t.Fatalf("user %q with system=%v", j.User, system)
			}
		}
	})
}
