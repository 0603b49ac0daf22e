package console

import (
	"encoding/json"
	"strings"
)

// alertView is what an event table shows of a runtime alert (an event of
// kind "alert" sent by an agent's runtime protection): the rule, what it
// saw, and the process with its ancestry — the chain an analyst reads
// first ("sh ← php-fpm ← nginx").
type alertView struct {
	RuleID    string
	Title     string
	Output    string
	MITRE     []string
	Chain     []alertProc
	Container string
	Image     string
	Response  string
}

type alertProc struct {
	Name string
	PID  int32
	Exe  string
	Args string
}

// alertData is the subset of the agent's alert JSON (guard.Alert) the
// console reads; the console does not import the agent's packages.
type alertData struct {
	RuleID string   `json:"ruleId"`
	Title  string   `json:"title"`
	Output string   `json:"output"`
	MITRE  []string `json:"mitre"`
	Event  struct {
		Process   alertProcData   `json:"process"`
		Parents   []alertProcData `json:"parents"`
		Container *struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Image string `json:"image"`
		} `json:"container"`
	} `json:"event"`
	Response *struct {
		Action string `json:"action"`
		DryRun bool   `json:"dryRun"`
		Detail string `json:"detail"`
		Err    string `json:"err"`
	} `json:"response"`
}

type alertProcData struct {
	PID  int32    `json:"pid"`
	Name string   `json:"name"`
	Exe  string   `json:"exe"`
	Args []string `json:"args"`
}

// maxChain bounds the ancestry shown in a table row.
const maxChain = 8

// parseAlert reads an alert event's data; ok is false for other events or
// data that is not an alert.
func parseAlert(kind string, raw json.RawMessage) (alertView, bool) {
	if kind != "alert" || len(raw) == 0 {
		return alertView{}, false
	}
	var d alertData
	if err := json.Unmarshal(raw, &d); err != nil || d.RuleID == "" {
		return alertView{}, false
	}
	v := alertView{RuleID: d.RuleID, Title: d.Title, Output: truncate(d.Output, 300), MITRE: d.MITRE}
	procs := append([]alertProcData{d.Event.Process}, d.Event.Parents...)
	for i, p := range procs {
		if i == maxChain {
			break
		}
		v.Chain = append(v.Chain, alertProc{Name: p.Name, PID: p.PID, Exe: p.Exe, Args: truncate(strings.Join(p.Args, " "), 200)})
	}
	if c := d.Event.Container; c != nil {
		v.Container = c.Name
		if v.Container == "" && len(c.ID) >= 12 {
			v.Container = c.ID[:12]
		}
		v.Image = c.Image
	}
	if r := d.Response; r != nil && r.Action != "" && r.Action != "alert" {
		v.Response = r.Action
		if r.DryRun {
			v.Response += " (dry run)"
		}
		if r.Err != "" {
			v.Response += ": " + truncate(r.Err, 120)
		}
	}
	return v, true
}
