// Command lbdns is an authoritative DNS server for DNS-only load balancing with Cloudflare Load
// Balancing's object model. This file is CLI wiring only: cobra commands, flags, logging and
// signals; the work is done by pkg/app and the packages below it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/lbdns/lbdns/pkg/app"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

// exitError carries an exit code through cobra without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	root := newRoot(os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "lbdns:", err)
		os.Exit(2)
	}
}

type globalFlags struct {
	logFormat string
	logLevel  string
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var g globalFlags
	root := &cobra.Command{
		Use:           "lbdns",
		Short:         "Authoritative DNS server for DNS-only load balancing",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "json", "log format: json or console")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.AddCommand(
		newServeCmd(&g, stderr, false),
		newServeCmd(&g, stderr, true),
		newCheckCmd(stdout, stderr),
		newExplainCmd(stdout, stderr),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintf(stdout, "lbdns %s %s/%s %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
			},
		},
	)
	return root
}

func newLogger(g *globalFlags, w io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(g.logLevel)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("--log-level: %w", err)
	}
	var out io.Writer = w
	switch g.logFormat {
	case "json":
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format: %q is neither json nor console", g.logFormat)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

// newServeCmd builds `serve`, or with demo set the `demo` command of `make run`, which also
// starts the demo's origin listeners (see pkg/app/demo.go).
func newServeCmd(g *globalFlags, stderr io.Writer, demo bool) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve DNS (and the API and metrics) from a config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(g, stderr)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			a, err := app.New(cfgPath, app.Options{Log: log, Version: version})
			if err != nil {
				var pe app.ProblemsError
				if errors.As(err, &pe) {
					pe.Format(stderr)
					return exitError{1}
				}
				log.Error().Err(err).Msg("start failed")
				return exitError{1}
			}
			if demo {
				origins, err := app.StartDemoOrigins(ctx, log)
				if err != nil {
					log.Error().Err(err).Msg("demo origins")
					return exitError{1}
				}
				defer origins.Close()
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						a.Reload()
					}
				}
			}()
			if err := a.Run(ctx); err != nil {
				log.Error().Err(err).Msg("serve failed")
				return exitError{1}
			}
			return nil
		},
	}
	if demo {
		cmd.Use = "demo"
		cmd.Short = "Serve the demo (make run): serve plus local origin listeners for failover"
		cmd.Hidden = true
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file (YAML, JSON or TOML)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func newCheckCmd(stdout, stderr io.Writer) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate a config file and its zone files; print every problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pe := app.Check(cfgPath)
			pe.Format(stderr)
			if pe.HasErrors() {
				return exitError{1}
			}
			fmt.Fprintf(stdout, "%s: ok\n", cfgPath)
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file (YAML, JSON or TOML)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func newExplainCmd(stdout, stderr io.Writer) *cobra.Command {
	var o app.ExplainOptions
	cmd := &cobra.Command{
		Use:   "explain NAME [TYPE]",
		Short: "Show step by step how the answer for NAME is chosen, without serving",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			o.Type = "A"
			if len(args) == 2 {
				o.Type = args[1]
			}
			if err := app.Explain(stdout, o); err != nil {
				var pe app.ProblemsError
				if errors.As(err, &pe) {
					pe.Format(stderr)
					return exitError{1}
				}
				fmt.Fprintln(stderr, "lbdns explain:", err)
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.Config, "config", "c", "", "config file")
	cmd.Flags().StringVar(&o.HealthFile, "health", "", "health file (JSON; see README) — default: the last known health in data_dir/health.json, else every origin healthy")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "seed of the random source")
	cmd.Flags().StringVar(&o.Client, "client", "", "the resolver's address (the query's source)")
	cmd.Flags().StringVar(&o.ECS, "ecs", "", "EDNS Client Subnet, as CIDR")
	_ = cmd.MarkFlagRequired("config")
	_ = cmd.MarkFlagRequired("client")
	return cmd
}
