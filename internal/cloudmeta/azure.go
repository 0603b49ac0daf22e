package cloudmeta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Azure: one JSON document from the Instance Metadata Service, asked for
// with "Metadata: true".
const azurePath = "/metadata/instance?api-version=2021-02-01"

// azureInstance is the part of the instance document used here.
type azureInstance struct {
	Compute struct {
		VMID           string `json:"vmId"`
		Location       string `json:"location"`
		Zone           string `json:"zone"`
		SubscriptionID string `json:"subscriptionId"`
		VMSize         string `json:"vmSize"`
	} `json:"compute"`
	Network struct {
		Interface []struct {
			IPv4 struct {
				IPAddress []struct {
					PrivateIPAddress string `json:"privateIpAddress"`
				} `json:"ipAddress"`
			} `json:"ipv4"`
			IPv6 struct {
				IPAddress []struct {
					PrivateIPAddress string `json:"privateIpAddress"`
				} `json:"ipAddress"`
			} `json:"ipv6"`
		} `json:"interface"`
	} `json:"network"`
}

// parseAzure decodes an instance document into an Identity's metadata
// fields; it fails without a vmId.
func parseAzure(b []byte) (Identity, error) {
	var doc azureInstance
	if err := json.Unmarshal(b, &doc); err != nil {
		return Identity{}, fmt.Errorf("instance document: %w", err)
	}
	c := doc.Compute
	id := Identity{
		InstanceID: clean(c.VMID), Region: clean(c.Location), Zone: clean(c.Zone),
		Account: clean(c.SubscriptionID), InstanceType: clean(c.VMSize),
	}
	if id.InstanceID == "" {
		return Identity{}, fmt.Errorf("instance document: no vmId")
	}
	for _, nic := range doc.Network.Interface {
		for _, a := range nic.IPv4.IPAddress {
			id.PrivateIPs = addIPs(id.PrivateIPs, a.PrivateIPAddress)
		}
		for _, a := range nic.IPv6.IPAddress {
			id.PrivateIPs = addIPs(id.PrivateIPs, a.PrivateIPAddress)
		}
	}
	return id, nil
}

func queryAzure(ctx context.Context, f *fetcher, id *Identity) error {
	b, _, err := f.do(ctx, http.MethodGet, azurePath, http.Header{"Metadata": {"true"}}, maxJSONBody)
	if err != nil {
		return err
	}
	m, err := parseAzure(b)
	if err != nil {
		return err
	}
	id.InstanceID, id.Region, id.Zone, id.Account, id.InstanceType = m.InstanceID, m.Region, m.Zone, m.Account, m.InstanceType
	id.PrivateIPs = addIPs(id.PrivateIPs, m.PrivateIPs...)
	return nil
}
