package cloudmeta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Provider names a cloud. Its value is what Identity carries in JSON.
type Provider string

// The providers Detect recognises, and None for a host whose firmware names
// no cloud (on premises, or a cloud this package does not know).
const (
	AWS     Provider = "aws"
	Alibaba Provider = "alibaba"
	Tencent Provider = "tencent"
	GCP     Provider = "gcp"
	Azure   Provider = "azure"
	Huawei  Provider = "huawei"
	None    Provider = "none"
)

// providers lists every cloud Detect can recognise, in tie-breaking order.
var providers = []Provider{AWS, Alibaba, Tencent, GCP, Azure, Huawei}

// defaultBaseURLs are the metadata service endpoints used unless
// Options.BaseURLs overrides them.
var defaultBaseURLs = map[Provider]string{
	AWS:     "http://169.254.169.254",
	Alibaba: "http://100.100.100.200",
	Tencent: "http://metadata.tencentyun.com",
	GCP:     "http://metadata.google.internal",
	Azure:   "http://169.254.169.254",
	Huawei:  "http://169.254.169.254",
}

// DefaultTimeout bounds all metadata queries of one Detect call.
const DefaultTimeout = 3 * time.Second

// Options configure Detect. The zero value works.
type Options struct {
	// DMIDir holds the DMI attribute files; "" means DefaultDMIDir.
	DMIDir string
	// Client sends metadata requests; nil means a client that ignores
	// proxy settings. Redirects are never followed, whichever client.
	Client *http.Client
	// BaseURLs overrides a provider's metadata endpoint ("http://host:port",
	// no path). The defaults: http://169.254.169.254 for AWS, Azure and
	// Huawei Cloud, http://100.100.100.200 for Alibaba Cloud,
	// http://metadata.tencentyun.com for Tencent Cloud and
	// http://metadata.google.internal for Google Cloud.
	BaseURLs map[Provider]string
	// Timeout bounds all metadata queries together; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Offline reports the provider from local evidence only and never
	// queries a metadata service.
	Offline bool
}

// Identity is who the host is in its cloud. Fields the metadata service did
// not give are empty.
type Identity struct {
	// Provider is the cloud, or None.
	Provider Provider `json:"provider"`
	// InstanceID is the cloud's ID of this machine (EC2 instance ID, GCE
	// numeric ID, Azure vmId, ECS/CVM instance ID, Huawei server UUID).
	InstanceID string `json:"instanceId,omitempty"`
	// Region and Zone are the location, in the provider's own naming.
	Region string `json:"region,omitempty"`
	Zone   string `json:"zone,omitempty"`
	// Account owns the instance: AWS account ID, Alibaba owner account ID,
	// Tencent AppID, GCP project ID, Azure subscription ID, Huawei project
	// ID.
	Account string `json:"account,omitempty"`
	// InstanceType is the machine size (m5.large, e2-medium,
	// Standard_D2s_v3, …).
	InstanceType string `json:"instanceType,omitempty"`
	// PrivateIPs are the instance's private addresses.
	PrivateIPs []string `json:"privateIps,omitempty"`
	// Evidence lists the local facts ("sys_vendor=Amazon EC2") that named
	// the provider.
	Evidence []string `json:"evidence,omitempty"`
	// Note says why metadata is missing when the service could not be used.
	Note string `json:"note,omitempty"`
}

// querier asks one provider's metadata service through f and fills id.
type querier func(ctx context.Context, f *fetcher, id *Identity) error

var queriers = map[Provider]querier{
	AWS:     queryAWS,
	Alibaba: queryAlibaba,
	Tencent: queryTencent,
	GCP:     queryGCP,
	Azure:   queryAzure,
	Huawei:  queryHuawei,
}

// Detect identifies the host: the provider named by local DMI evidence,
// then, only for a cloud, what that cloud's metadata service says. A
// metadata service that cannot be reached or answers badly leaves the
// fields empty and explains in Note. The error is for unexpected failures
// only: an unreadable DMI file, a malformed base URL, ctx ending.
func Detect(ctx context.Context, o Options) (Identity, error) {
	dir := o.DMIDir
	if dir == "" {
		dir = DefaultDMIDir
	}
	facts, err := readDMI(dir)
	if err != nil {
		return Identity{Provider: None}, err
	}
	p, ev := classify(facts)
	id := Identity{Provider: p, Evidence: ev}
	if p == None || o.Offline {
		return id, nil
	}
	base, err := baseURL(o, p)
	if err != nil {
		return id, err
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f := &fetcher{c: noRedirects(o.Client), base: base}
	if o.Client == nil {
		defer f.c.CloseIdleConnections()
	}
	if err := queriers[p](qctx, f, &id); err != nil {
		if ctx.Err() != nil {
			return id, fmt.Errorf("%s metadata: %w", p, ctx.Err())
		}
		id.Note = fmt.Sprintf("%s metadata service: %v", p, err)
	}
	return id, nil
}

// baseURL is p's endpoint from o, checked to be a bare http(s) origin.
func baseURL(o Options, p Provider) (string, error) {
	s, ok := o.BaseURLs[p]
	if !ok || s == "" {
		s = defaultBaseURLs[p]
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%s base URL: %w", p, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("%s base URL %q: want http://host[:port]", p, s)
	}
	return u.Scheme + "://" + u.Host, nil
}

// errRedirect refuses redirects: a metadata service does not send them,
// and following one could carry the request (and its token) elsewhere.
var errRedirect = errors.New("metadata service redirected")

// noRedirects returns c, or the default client, with redirects refused.
func noRedirects(c *http.Client) *http.Client {
	var nc http.Client
	if c != nil {
		nc = *c
	} else {
		nc.Transport = &http.Transport{
			Proxy:                  nil, // never through a proxy
			DialContext:            (&net.Dialer{Timeout: time.Second}).DialContext,
			MaxResponseHeaderBytes: 64 << 10,
			DisableCompression:     true,
			MaxIdleConns:           2,
			IdleConnTimeout:        10 * time.Second,
		}
	}
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return errRedirect }
	return &nc
}
