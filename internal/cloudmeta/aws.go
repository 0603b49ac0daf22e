package cloudmeta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// AWS: IMDSv2 only. A session token is PUT for, then sent with every GET;
// instances that require IMDSv2 refuse GETs without it.
const (
	awsTokenPath  = "/latest/api/token"
	awsTokenTTL   = "X-aws-ec2-metadata-token-ttl-seconds"
	awsTokenHdr   = "X-aws-ec2-metadata-token"
	awsDocPath    = "/latest/dynamic/instance-identity/document"
	awsMacsPath   = "/latest/meta-data/network/interfaces/macs/"
	awsTokenLimit = 1 << 10
)

// macRE is a network interface key in the metadata listing.
var macRE = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)

// awsDocument is the part of the instance identity document used here.
type awsDocument struct {
	AccountID        string `json:"accountId"`
	InstanceID       string `json:"instanceId"`
	InstanceType     string `json:"instanceType"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availabilityZone"`
	PrivateIP        string `json:"privateIp"`
}

// parseAWSDocument decodes an instance identity document, keeping only
// plain values; it fails without an instance ID.
func parseAWSDocument(b []byte) (awsDocument, error) {
	var d awsDocument
	if err := json.Unmarshal(b, &d); err != nil {
		return awsDocument{}, fmt.Errorf("identity document: %w", err)
	}
	d = awsDocument{
		AccountID: clean(d.AccountID), InstanceID: clean(d.InstanceID), InstanceType: clean(d.InstanceType),
		Region: clean(d.Region), AvailabilityZone: clean(d.AvailabilityZone), PrivateIP: clean(d.PrivateIP),
	}
	if d.InstanceID == "" {
		return awsDocument{}, fmt.Errorf("identity document: no instanceId")
	}
	return d, nil
}

func queryAWS(ctx context.Context, f *fetcher, id *Identity) error {
	tok, _, err := f.do(ctx, http.MethodPut, awsTokenPath, http.Header{awsTokenTTL: {"60"}}, awsTokenLimit)
	if err != nil {
		return fmt.Errorf("IMDSv2 token: %w", err)
	}
	token, err := parseText(tok)
	if err != nil {
		return fmt.Errorf("IMDSv2 token: %w", err)
	}
	f.hdr = http.Header{awsTokenHdr: {token}}
	b, _, err := f.do(ctx, http.MethodGet, awsDocPath, nil, maxJSONBody)
	if err != nil {
		return err
	}
	d, err := parseAWSDocument(b)
	if err != nil {
		return err
	}
	id.InstanceID, id.Account, id.InstanceType = d.InstanceID, d.AccountID, d.InstanceType
	id.Region, id.Zone = d.Region, d.AvailabilityZone
	id.PrivateIPs = addIPs(id.PrivateIPs, awsPrivateIPs(ctx, f)...)
	id.PrivateIPs = addIPs(id.PrivateIPs, d.PrivateIP)
	return nil
}

// awsPrivateIPs lists the private addresses of every network interface;
// nil if the listing cannot be read.
func awsPrivateIPs(ctx context.Context, f *fetcher) []string {
	b, _, err := f.do(ctx, http.MethodGet, awsMacsPath, nil, maxTextBody)
	if err != nil {
		return nil
	}
	macs, err := parseLines(b)
	if err != nil {
		return nil
	}
	var ips []string
	for _, m := range macs {
		m = strings.ToLower(strings.TrimSuffix(m, "/"))
		if !macRE.MatchString(m) {
			continue
		}
		b, _, err := f.do(ctx, http.MethodGet, awsMacsPath+m+"/local-ipv4s", nil, maxTextBody)
		if err != nil {
			continue
		}
		lines, err := parseLines(b)
		if err != nil {
			continue
		}
		ips = append(ips, lines...)
	}
	return ips
}
