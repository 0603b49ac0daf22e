package cloudmeta

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func dmi(name string) string { return filepath.Join("testdata", "dmi", name) }

func TestClassify(t *testing.T) {
	tests := []struct {
		dir      string
		want     Provider
		evidence []string
	}{
		{"aws-nitro", AWS, []string{"sys_vendor=Amazon EC2", "board_vendor=Amazon EC2", "bios_vendor=Amazon EC2", "chassis_vendor=Amazon EC2", "product_uuid=ec2e1916-9099-7caf-fd21-0123456789ab"}},
		{"aws-xen", AWS, []string{"bios_version=4.11.amazon", "product_version=4.11.amazon", "product_uuid=EC2A3F1D-5E8B-4C2A-9D7E-0123456789AB"}},
		{"alibaba", Alibaba, []string{"sys_vendor=Alibaba Cloud", "product_name=Alibaba Cloud ECS"}},
		{"tencent", Tencent, []string{"sys_vendor=Tencent Cloud", "product_name=CVM"}},
		{"gcp", GCP, []string{"sys_vendor=Google", "product_name=Google Compute Engine", "bios_vendor=Google", "board_vendor=Google"}},
		{"azure", Azure, []string{"chassis_asset_tag=7783-7084-3265-9085-8269-3286-77", "sys_vendor=Microsoft Corporation", "product_name=Virtual Machine"}},
		{"huawei", Huawei, []string{"chassis_asset_tag=HUAWEICLOUD", "sys_vendor=OpenStack Foundation", "product_name=OpenStack Nova"}},
		// Hyper-V on premises has Azure's vendor strings but not its tag.
		{"hyperv", None, nil},
		// Plain OpenStack is not Huawei Cloud.
		{"openstack", None, nil},
		{"dell", None, nil},
		// A UUID starting with "ec2" alone is not evidence enough.
		{"qemu", None, nil},
		{"does-not-exist", None, nil},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			facts, err := readDMI(dmi(tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			p, ev := classify(facts)
			if p != tt.want {
				t.Errorf("provider = %q, want %q", p, tt.want)
			}
			if diff := cmp.Diff(tt.evidence, ev); diff != "" {
				t.Errorf("evidence (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		dir  string
		fake func(testing.TB) *fakeMeta
		want Identity
	}{
		{"aws-nitro", fakeAWS, Identity{
			Provider: AWS, InstanceID: "i-0123456789abcdef0", Region: "eu-west-1", Zone: "eu-west-1b",
			Account: "123456789012", InstanceType: "m5.large", PrivateIPs: []string{"10.0.0.5", "10.0.0.6", "10.0.1.7"},
		}},
		{"aws-xen", fakeAWS, Identity{
			Provider: AWS, InstanceID: "i-0123456789abcdef0", Region: "eu-west-1", Zone: "eu-west-1b",
			Account: "123456789012", InstanceType: "m5.large", PrivateIPs: []string{"10.0.0.5", "10.0.0.6", "10.0.1.7"},
		}},
		{"alibaba", fakeAlibaba, Identity{
			Provider: Alibaba, InstanceID: "i-bp1abcdefghijklmnop", Region: "cn-hangzhou", Zone: "cn-hangzhou-i",
			Account: "1234567890123456", InstanceType: "ecs.g7.large", PrivateIPs: []string{"172.16.0.10"},
		}},
		{"tencent", fakeTencent, Identity{
			Provider: Tencent, InstanceID: "ins-abcd1234", Region: "ap-guangzhou", Zone: "ap-guangzhou-3",
			Account: "1250000000", PrivateIPs: []string{"10.1.2.3"},
		}},
		{"gcp", fakeGCP, Identity{
			Provider: GCP, InstanceID: "4520031799277581759", Region: "europe-west1", Zone: "europe-west1-b",
			Account: "vigil-test-project", InstanceType: "e2-medium", PrivateIPs: []string{"10.132.0.2", "10.8.0.3"},
		}},
		{"azure", fakeAzure, Identity{
			Provider: Azure, InstanceID: "02aab8a4-74ef-476e-8182-f6d2ba4166a6", Region: "westeurope", Zone: "2",
			Account: "8d10da13-8125-4ba9-a717-bf7490507b3d", InstanceType: "Standard_D2s_v3", PrivateIPs: []string{"10.2.0.4", "fd00::4"},
		}},
		{"huawei", fakeHuawei, Identity{
			Provider: Huawei, InstanceID: "ca9e8b7c-f2be-4b6d-a639-f10b4d994d04", Region: "cn-north-4", Zone: "cn-north-4a",
			Account: "6e8b0c94265645f39c5abbe63c4113c6", InstanceType: "s6.medium.2", PrivateIPs: []string{"192.168.0.12"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			srv := tt.fake(t)
			got, err := Detect(context.Background(), Options{
				DMIDir: dmi(tt.dir), Client: testClient(t), BaseURLs: allBases(srv.URL), Timeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Evidence) == 0 {
				t.Error("no evidence")
			}
			got.Evidence = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s\nrequests: %q", diff, srv.requests())
			}
			if hasRequest(srv.requests(), "GET /computeMetadata/v1/instance/attributes") {
				t.Error("read instance attributes (user data)")
			}
		})
	}
}

// TestDetectJSON pins the JSON field names.
func TestDetectJSON(t *testing.T) {
	srv := fakeTencent(t)
	id, err := Detect(context.Background(), Options{DMIDir: dmi("tencent"), Client: testClient(t), BaseURLs: allBases(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"provider":"tencent","instanceId":"ins-abcd1234","region":"ap-guangzhou","zone":"ap-guangzhou-3",` +
		`"account":"1250000000","privateIps":["10.1.2.3"],"evidence":["sys_vendor=Tencent Cloud","product_name=CVM"]}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
}

// TestDetectNoEvidence: without cloud evidence nothing is sent, even with
// the default (real) base URLs.
func TestDetectNoEvidence(t *testing.T) {
	empty := t.TempDir()
	for _, dir := range []string{dmi("dell"), dmi("hyperv"), dmi("openstack"), dmi("qemu"), dmi("does-not-exist"), empty} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got, err := Detect(context.Background(), Options{DMIDir: dir, Client: &http.Client{Transport: failTransport{t}}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Identity{Provider: None}, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetectOffline(t *testing.T) {
	got, err := Detect(context.Background(), Options{DMIDir: dmi("gcp"), Offline: true, Client: &http.Client{Transport: failTransport{t}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Provider != GCP || got.InstanceID != "" || len(got.Evidence) == 0 || got.Note != "" {
		t.Errorf("got %+v, want GCP from evidence only", got)
	}
}

func TestAWSRejectsWithoutToken(t *testing.T) {
	srv := fakeAWS(t)
	resp, err := testClient(t).Get(srv.URL + "/latest/dynamic/instance-identity/document")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("fake IMDS answered %d without a token, want 401", resp.StatusCode)
	}

	// A service that never grants a token (IMDS disabled, or the PUT's
	// hop limit exceeded): Detect must not fall back to token-less GETs.
	noToken := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Forbidden", http.StatusForbidden)
	})
	got, err := Detect(context.Background(), Options{DMIDir: dmi("aws-nitro"), Client: testClient(t), BaseURLs: allBases(noToken.URL)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Provider != AWS || got.InstanceID != "" || !strings.Contains(got.Note, "IMDSv2 token") {
		t.Errorf("got %+v, want AWS with a note about the token", got)
	}
	if diff := cmp.Diff([]string{"PUT /latest/api/token"}, noToken.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestDetectMetadataFailures: whatever goes wrong with the service, Detect
// returns the provider from evidence, a note, and no error.
func TestDetectMetadataFailures(t *testing.T) {
	// A loopback port with nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	elsewhere := newFake(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("i-stolen")) })
	redirect := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	})
	huge := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"compute":{"vmId":"x","tags":"`))
		w.Write([]byte(strings.Repeat("a", 1<<20)))
		w.Write([]byte(`"}}`))
	})
	slow := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	noFlavor := newFake(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("12345")) })
	garbage := newFake(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("\x00\x01binary")) })

	tests := []struct {
		name, dir, base, note string
	}{
		{"unreachable", "tencent", closed, "connection refused"},
		{"redirect", "tencent", redirect.URL, "redirected"},
		{"oversized", "azure", huge.URL, "response over"},
		{"timeout", "huawei", slow.URL, "deadline exceeded"},
		{"no flavor header", "gcp", noFlavor.URL, "without Metadata-Flavor"},
		{"not text", "alibaba", garbage.URL, "not a plain text value"},
		{"not json", "huawei", garbage.URL, "meta_data.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got, err := Detect(context.Background(), Options{
				DMIDir: dmi(tt.dir), Client: testClient(t), BaseURLs: allBases(tt.base), Timeout: 300 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.Provider == None || len(got.Evidence) == 0 || got.InstanceID != "" {
				t.Errorf("got %+v, want the provider from evidence and no instance", got)
			}
			if !strings.Contains(got.Note, tt.note) {
				t.Errorf("note = %q, want it to mention %q", got.Note, tt.note)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v despite a 300ms timeout", d)
			}
		})
	}
	if r := elsewhere.requests(); len(r) != 0 {
		t.Errorf("redirect followed: %q", r)
	}
}

func TestDetectErrors(t *testing.T) {
	t.Run("canceled", func(t *testing.T) {
		srv := fakeAWS(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got, err := Detect(ctx, Options{DMIDir: dmi("aws-nitro"), Client: testClient(t), BaseURLs: allBases(srv.URL)})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if got.Provider != AWS {
			t.Errorf("provider = %q, want aws", got.Provider)
		}
	})
	t.Run("bad base URL", func(t *testing.T) {
		for _, base := range []string{"169.254.169.254", "ftp://127.0.0.1", "http://127.0.0.1/x", "http://u:p@127.0.0.1", "http://%zz"} {
			_, err := Detect(context.Background(), Options{
				DMIDir: dmi("aws-nitro"), Client: &http.Client{Transport: failTransport{t}}, BaseURLs: allBases(base),
			})
			if err == nil {
				t.Errorf("base %q: no error", base)
			}
		}
	})
	t.Run("unreadable DMI", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "sys_vendor"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Detect(context.Background(), Options{DMIDir: dir, Client: &http.Client{Transport: failTransport{t}}}); err == nil {
			t.Error("no error for a DMI attribute that is a directory")
		}
	})
}

func TestRegionOfZone(t *testing.T) {
	for zone, want := range map[string]string{
		"europe-west1-b": "europe-west1",
		"cn-north-4a":    "cn-north-4",
		"us-east-1a":     "us-east-1",
		"2":              "",
		"":               "",
		"zone":           "",
	} {
		if got := regionOfZone(zone); got != want {
			t.Errorf("regionOfZone(%q) = %q, want %q", zone, got, want)
		}
	}
}
