package console

import (
	"encoding/json"
	"testing"
)

func TestParseAlert(t *testing.T) {
	raw := json.RawMessage(`{"ruleId":"VGL-RT-001","title":"Reverse shell","output":"sh with a socket on stdin","mitre":["T1059.004"],
		"event":{"process":{"pid":42,"name":"sh","exe":"/bin/sh","args":["sh","-i"]},
		"parents":[{"pid":41,"name":"php-fpm"},{"pid":1,"name":"nginx"}],
		"container":{"id":"0123456789abcdef0123","image":"web:1"}},
		"response":{"action":"kill","dryRun":true}}`)
	v, ok := parseAlert("alert", raw)
	if !ok {
		t.Fatal("not parsed")
	}
	if v.RuleID != "VGL-RT-001" || len(v.Chain) != 3 || v.Chain[0].Name != "sh" || v.Chain[2].Name != "nginx" ||
		v.Container != "0123456789ab" || v.Image != "web:1" || v.Response != "kill (dry run)" || v.Chain[0].Args != "sh -i" {
		t.Errorf("view = %+v", v)
	}
	if _, ok := parseAlert("process.exec", raw); ok {
		t.Error("other kinds are not alerts")
	}
	if _, ok := parseAlert("alert", json.RawMessage(`{"x":1}`)); ok {
		t.Error("data without a rule is not an alert")
	}
}
