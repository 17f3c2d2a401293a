package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/tcusage/tcusage/shared/emulator"
)

func emulate(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("emulate", c.stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "the loopback address to listen on")
	scale := fs.Float64("time-scale", 1, "multiply rate-limit windows (0.001 makes 15 s into 15 ms)")
	offline := fs.Bool("interactive-time-offline", false, "answer DescribeTrtcInteractiveTime as taken offline, as the real service may")
	rooms := fs.Int("rooms", 50, "typical rooms of an app on a weekday in DescribeTrtcRoomUsage (each app-day varies around it)")
	busy := fs.Int("busy-rooms", 3000, "rooms of a rare busy app-day in DescribeTrtcRoomUsage (a million works)")
	intl := fs.Bool("international", false, "serve an international-site account (DescribeTrtcRoomUsage also in ap-singapore)")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tcusage emulate [--addr 127.0.0.1:9000]\n\nServes the Tencent Cloud API emulator: DescribeTelCallInfo, DescribeTrtcInteractiveTime,\nDescribeTrtcUsage, DescribeTrtcRoomUsage and ChannelDescribeBillUsageDetail, with signature checks.\n\n")
		fs.PrintDefaults()
	}
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return &usageError{fmt.Sprintf("emulate takes no arguments, got %q", pos[0])}
	}
	cfg := emulator.Config{TimeScale: *scale, InteractiveTimeOffline: *offline, Rooms: *rooms, BusyRooms: *busy, International: *intl}
	err := emulator.ListenAndServe(ctx, *addr, cfg, func(a string) {
		fmt.Fprintf(c.stdout, "tcusage emulator listening on %s. Point the functions at it with:\n\n", a)
		fmt.Fprintf(c.stdout, "  export TCUSAGE_API_ENDPOINT=%s\n", a)
		fmt.Fprintf(c.stdout, "  export TENCENTCLOUD_SECRET_ID=%s\n", emulator.TestSecretID)
		fmt.Fprintf(c.stdout, "  export TENCENTCLOUD_SECRET_KEY=%s\n", emulator.TestSecretKey)
		fmt.Fprintf(c.stdout, "  export TCUSAGE_SDK_APP_IDS=1400000001,1400000002,1400000003\n")
		fmt.Fprintf(c.stdout, "  export TCUSAGE_ESS_APP_ID=ess_app_demo TCUSAGE_ESS_ORG_OPEN_IDS=org_alpha,org_beta,org_gamma\n")
		fmt.Fprintf(c.stdout, "  export TCUSAGE_HTTP_TOKEN_SHA256=%s   # bearer token %q, as in events/*/\n", demoTokenSHA256, DemoToken)
		if *scale != 1 {
			fmt.Fprintf(c.stdout, "  export TCUSAGE_API_RATE='%s'\n", scaledRates(*scale))
		}
		fmt.Fprintf(c.stdout, "\nThese test credentials are not secret. Ctrl-C stops the emulator.\n")
	})
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return nil
	}
	return err
}
