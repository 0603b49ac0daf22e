package cloudmeta

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// Every test request goes through loopbackOnly: a test that would reach a
// real metadata service (169.254.169.254, 100.100.100.200, a DNS name)
// fails instead of sending anything.

// loopbackOnly is a RoundTripper refusing any host that is not a loopback
// IP address.
type loopbackOnly struct {
	t  testing.TB
	rt http.RoundTripper
}

func (l loopbackOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	a, err := netip.ParseAddr(r.URL.Hostname())
	if err != nil || !a.IsLoopback() {
		l.t.Errorf("request to non-loopback %s %s", r.Method, r.URL)
		return nil, errors.New("test refused a non-loopback request")
	}
	return l.rt.RoundTrip(r)
}

// testClient is an HTTP client that can only reach loopback.
func testClient(t testing.TB) *http.Client {
	tr := &http.Transport{Proxy: nil}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: loopbackOnly{t, tr}}
}

// failTransport fails the test on any request at all.
type failTransport struct{ t testing.TB }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
	return nil, errors.New("no request expected")
}

// allBases points every provider at base, so that a test never falls back
// to a real endpoint.
func allBases(base string) map[Provider]string {
	m := make(map[Provider]string)
	for _, p := range providers {
		m[p] = base
	}
	return m
}

// fakeMeta is a loopback metadata service for one provider, recording the
// requests it served.
type fakeMeta struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // "METHOD path?query"
}

func (f *fakeMeta) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

// newFake serves h on loopback and closes it when the test ends.
func newFake(t testing.TB, h http.HandlerFunc) *fakeMeta {
	f := &fakeMeta{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// textItems serves the items of m as GET text/plain, 404 otherwise.
func textItems(w http.ResponseWriter, r *http.Request, m map[string]string) {
	v, ok := m[r.URL.RequestURI()]
	if r.Method != http.MethodGet || !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(v))
}

const awsToken = "AQAEAFakeToken-0123456789=="

// fakeAWS implements IMDSv2: PUT /latest/api/token with a TTL header gives
// a token; every GET without that token is 401.
func fakeAWS(t testing.TB) *fakeMeta {
	items := map[string]string{
		"/latest/dynamic/instance-identity/document": `{
  "accountId" : "123456789012",
  "architecture" : "x86_64",
  "availabilityZone" : "eu-west-1b",
  "imageId" : "ami-0abcdef1234567890",
  "instanceId" : "i-0123456789abcdef0",
  "instanceType" : "m5.large",
  "pendingTime" : "2024-01-02T03:04:05Z",
  "privateIp" : "10.0.0.5",
  "region" : "eu-west-1",
  "version" : "2017-09-30"
}`,
		"/latest/meta-data/network/interfaces/macs/":                              "0e:11:22:33:44:55/\n0e:aa:bb:cc:dd:ee/\n../../evil/\n",
		"/latest/meta-data/network/interfaces/macs/0e:11:22:33:44:55/local-ipv4s": "10.0.0.5\n10.0.0.6",
		"/latest/meta-data/network/interfaces/macs/0e:aa:bb:cc:dd:ee/local-ipv4s": "10.0.1.7\n",
	}
	return newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				http.Error(w, "bad token request", http.StatusBadRequest)
				return
			}
			w.Write([]byte(awsToken))
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != awsToken {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		textItems(w, r, items)
	})
}

const alibabaToken = "ali-token-42"

// fakeAlibaba enforces security hardening mode: GETs need the token.
func fakeAlibaba(t testing.TB) *fakeMeta {
	items := map[string]string{
		"/latest/meta-data/instance-id":            "i-bp1abcdefghijklmnop",
		"/latest/meta-data/region-id":              "cn-hangzhou",
		"/latest/meta-data/zone-id":                "cn-hangzhou-i",
		"/latest/meta-data/owner-account-id":       "1234567890123456",
		"/latest/meta-data/instance/instance-type": "ecs.g7.large",
		"/latest/meta-data/private-ipv4":           "172.16.0.10",
	}
	return newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut || r.Header.Get("X-aliyun-ecs-metadata-token-ttl-seconds") == "" {
				http.Error(w, "bad token request", http.StatusBadRequest)
				return
			}
			w.Write([]byte(alibabaToken))
			return
		}
		if r.Header.Get("X-aliyun-ecs-metadata-token") != alibabaToken {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		textItems(w, r, items)
	})
}

// fakeTencent has no token; instance/instance-type is absent, as on older
// metadata versions.
func fakeTencent(t testing.TB) *fakeMeta {
	items := map[string]string{
		"/latest/meta-data/instance-id":      "ins-abcd1234",
		"/latest/meta-data/placement/region": "ap-guangzhou",
		"/latest/meta-data/placement/zone":   "ap-guangzhou-3",
		"/latest/meta-data/app-id":           "1250000000",
		"/latest/meta-data/local-ipv4":       "10.1.2.3\n",
	}
	return newFake(t, func(w http.ResponseWriter, r *http.Request) { textItems(w, r, items) })
}

// fakeGCP requires Metadata-Flavor: Google and answers with it.
func fakeGCP(t testing.TB) *fakeMeta {
	items := map[string]string{
		"/computeMetadata/v1/instance/id":                                          "4520031799277581759",
		"/computeMetadata/v1/instance/zone":                                        "projects/123456789012/zones/europe-west1-b",
		"/computeMetadata/v1/instance/machine-type":                                "projects/123456789012/machineTypes/e2-medium",
		"/computeMetadata/v1/project/project-id":                                   "vigil-test-project",
		"/computeMetadata/v1/instance/network-interfaces/?recursive=true&alt=json": `[{"accessConfigs":[{"externalIp":"203.0.113.9","type":"ONE_TO_ONE_NAT"}],"ip":"10.132.0.2","mac":"42:01:0a:84:00:02","network":"projects/123456789012/networks/default"},{"ip":"10.8.0.3"}]`,
		"/computeMetadata/v1/instance/attributes/startup-script":                   "echo secret",
	}
	return newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "Missing Metadata-Flavor:Google header", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		textItems(w, r, items)
	})
}

// fakeAzure requires Metadata: true and the api-version.
func fakeAzure(t testing.TB) *fakeMeta {
	doc := `{"compute":{"azEnvironment":"AzurePublicCloud","location":"westeurope","name":"vm1",
"resourceGroupName":"rg1","subscriptionId":"8d10da13-8125-4ba9-a717-bf7490507b3d",
"tags":"env:test","vmId":"02aab8a4-74ef-476e-8182-f6d2ba4166a6","vmSize":"Standard_D2s_v3","zone":"2",
"osProfile":{"adminUsername":"azureuser"}},
"network":{"interface":[{"ipv4":{"ipAddress":[{"privateIpAddress":"10.2.0.4","publicIpAddress":"20.1.2.3"}],
"subnet":[{"address":"10.2.0.0","prefix":"24"}]},"ipv6":{"ipAddress":[{"privateIpAddress":"fd00::4"}]},
"macAddress":"000D3AF806EC"}]}}`
	return newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metadata/instance" || r.URL.Query().Get("api-version") == "" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Metadata") != "true" {
			http.Error(w, `{"error":"Bad request. Required metadata header not specified"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write([]byte(doc))
	})
}

// fakeHuawei serves OpenStack meta_data.json and the EC2-style address.
func fakeHuawei(t testing.TB) *fakeMeta {
	items := map[string]string{
		"/openstack/latest/meta_data.json": `{"random_seed":"abc=","uuid":"ca9e8b7c-f2be-4b6d-a639-f10b4d994d04",
"availability_zone":"cn-north-4a","enterprise_project_id":"0","hostname":"ecs-1.novalocal","launch_index":0,
"instance_type":"s6.medium.2","meta":{"vpc_id":"3b6c201f","os_type":"Linux"},
"project_id":"6e8b0c94265645f39c5abbe63c4113c6","name":"ecs-1"}`,
		"/latest/meta-data/local-ipv4": "192.168.0.12",
	}
	return newFake(t, func(w http.ResponseWriter, r *http.Request) { textItems(w, r, items) })
}

// hasRequest reports whether one of reqs starts with prefix.
func hasRequest(reqs []string, prefix string) bool {
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}
