package cloudmeta

import (
	"net/netip"
	"testing"
)

// Metadata responses are untrusted input: anything on the path (or a
// process squatting the address in a container) can answer. Every parser
// must return an error or plain, bounded values.

// checkValue fails unless v is empty or a plain value.
func checkValue(t *testing.T, field, v string) {
	t.Helper()
	if v != "" && clean(v) != v {
		t.Errorf("%s %q is not a plain value", field, v)
	}
}

// checkIPs fails unless ips are at most maxItems distinct canonical
// addresses.
func checkIPs(t *testing.T, ips []string) {
	t.Helper()
	if len(ips) > maxItems {
		t.Errorf("%d addresses, over %d", len(ips), maxItems)
	}
	seen := map[string]bool{}
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil || a.String() != s || seen[s] {
			t.Errorf("address %q invalid, not canonical or repeated", s)
		}
		seen[s] = true
	}
}

func checkIdentity(t *testing.T, id Identity) {
	t.Helper()
	for f, v := range map[string]string{
		"instance": id.InstanceID, "region": id.Region, "zone": id.Zone, "account": id.Account, "type": id.InstanceType,
	} {
		checkValue(t, f, v)
	}
	checkIPs(t, id.PrivateIPs)
}

func FuzzParseText(f *testing.F) {
	for _, s := range []string{"i-0123456789abcdef0\n", "", " \t", "a\x00b", "\xff", "ins-é", "10.0.0.1\n10.0.0.2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseText(b)
		if err != nil {
			if s != "" {
				t.Errorf("value %q with error %v", s, err)
			}
			return
		}
		if s == "" || len(s) > maxValue {
			t.Errorf("value %q: empty or over %d bytes", s, maxValue)
		}
		checkValue(t, "text", s)
		lines, err := parseLines(b)
		if err != nil {
			return
		}
		if len(lines) > maxItems {
			t.Errorf("%d lines, over %d", len(lines), maxItems)
		}
		for _, l := range lines {
			if l == "" {
				t.Error("empty line kept")
			}
			checkValue(t, "line", l)
		}
	})
}

func FuzzParseAWSDocument(f *testing.F) {
	f.Add([]byte(`{"accountId":"123456789012","availabilityZone":"eu-west-1b","instanceId":"i-0123","instanceType":"m5.large","privateIp":"10.0.0.5","region":"eu-west-1"}`))
	f.Add([]byte(`{"instanceId":"i-1\u0000"}`))
	f.Add([]byte(`{"instanceId":7}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseAWSDocument(b)
		if err != nil {
			return
		}
		if d.InstanceID == "" {
			t.Error("document accepted without an instance ID")
		}
		for f, v := range map[string]string{"account": d.AccountID, "instance": d.InstanceID, "type": d.InstanceType, "region": d.Region, "zone": d.AvailabilityZone, "ip": d.PrivateIP} {
			checkValue(t, f, v)
		}
	})
}

func FuzzParseAzure(f *testing.F) {
	f.Add([]byte(`{"compute":{"vmId":"02aab8a4","location":"westeurope","zone":"1","subscriptionId":"8d10","vmSize":"Standard_B1s"},"network":{"interface":[{"ipv4":{"ipAddress":[{"privateIpAddress":"10.0.0.4"}]},"ipv6":{"ipAddress":[{"privateIpAddress":"fd00::4"}]}}]}}`))
	f.Add([]byte(`{"compute":{"vmId":""}}`))
	f.Add([]byte(`{"compute":{"vmId":"x"},"network":{"interface":[{"ipv4":{"ipAddress":[{"privateIpAddress":"::ffff:10.0.0.1"},{"privateIpAddress":"10.0.0.1"},{"privateIpAddress":"bogus"}]}}]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseAzure(b)
		if err != nil {
			return
		}
		if id.InstanceID == "" {
			t.Error("document accepted without a vmId")
		}
		checkIdentity(t, id)
	})
}

func FuzzParseHuawei(f *testing.F) {
	f.Add([]byte(`{"uuid":"ca9e8b7c","availability_zone":"cn-north-4a","project_id":"6e8b","instance_type":"s3.medium.2","region_id":"cn-north-4"}`))
	f.Add([]byte(`{"uuid":"u","availability_zone":"a"}`))
	f.Add([]byte(`{"uuid":["x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseHuawei(b)
		if err != nil {
			return
		}
		if id.InstanceID == "" {
			t.Error("document accepted without a uuid")
		}
		checkIdentity(t, id)
	})
}

func FuzzParseGCPInterfaces(f *testing.F) {
	f.Add([]byte(`[{"ip":"10.132.0.2","mac":"42:01:0a:84:00:02"},{"ip":"10.8.0.3"}]`))
	f.Add([]byte(`[{"ip":"10.0.0.1"},{"ip":"10.0.0.1"},{"ip":"x"}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ips, err := parseGCPInterfaces(b)
		if err != nil {
			return
		}
		checkIPs(t, ips)
	})
}
