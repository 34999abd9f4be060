package api_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/cloudflare/cloudflare-go"
)

// Example_cloudflareGo drives lbdns with the unmodified cloudflare-go client: only the base URL
// changes. (Compiled, not run: it needs a running lbdns.)
func Example_cloudflareGo() {
	api, err := cloudflare.NewWithAPIToken(os.Getenv("TOKEN"),
		cloudflare.BaseURL("http://127.0.0.1:8053/client/v4"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	account := cloudflare.AccountIdentifier(os.Getenv("ACCOUNT_ID"))

	zoneID, err := api.ZoneIDByName("example.com")
	if err != nil {
		log.Fatal(err)
	}
	mon, err := api.CreateLoadBalancerMonitor(ctx, account, cloudflare.CreateLoadBalancerMonitorParams{
		LoadBalancerMonitor: cloudflare.LoadBalancerMonitor{
			Type: "http", Method: "GET", Path: "/health", ExpectedCodes: "200",
			Interval: 15, Timeout: 3, Retries: 1, Description: "web health",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	pool, err := api.CreateLoadBalancerPool(ctx, account, cloudflare.CreateLoadBalancerPoolParams{
		LoadBalancerPool: cloudflare.LoadBalancerPool{
			Name: "eu", Enabled: true, Monitor: mon.ID,
			Origins: []cloudflare.LoadBalancerOrigin{
				{Name: "web1", Address: "192.0.2.10", Enabled: true, Weight: 1},
				{Name: "web2", Address: "192.0.2.11", Enabled: true, Weight: 1},
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	lb, err := api.CreateLoadBalancer(ctx, cloudflare.ZoneIdentifier(zoneID), cloudflare.CreateLoadBalancerParams{
		LoadBalancer: cloudflare.LoadBalancer{
			Name: "www.example.com", DefaultPools: []string{pool.ID}, FallbackPool: pool.ID, TTL: 30,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	health, err := api.GetLoadBalancerPoolHealth(ctx, account, pool.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(lb.ID, health.PopHealth)
}
