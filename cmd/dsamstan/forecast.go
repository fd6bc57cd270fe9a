package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/pipeline"
)

type forecastOptions struct {
	io     streams
	RunDir string
	Plan   string
	Out    string
}

func newForecastCmd(io streams, runF func(*forecastOptions) error) *cobra.Command {
	opts := &forecastOptions{io: io}
	cmd := &cobra.Command{
		Use:   "forecast RUN_DIR --plan FILE",
		Short: "Forecast the KPI of a media plan from a fitted run's draws",
		Long: `Forecast the KPI for the weeks of a media plan from every posterior draw of a completed
MCMC run: the posterior predictive (fit plus noise) and the expected value on the KPI
scale, with 50% and 90% intervals, each term's contribution, and totals over the plan per
group and overall. Media carry over from the run's last weeks into the plan (adstock).

The plan is a CSV with the date column, a panel's grouping columns and every column the
model reads (media, controls, trend, seasonality), one row per planned week and group; its
first week follows the run's last one. Writes forecast.csv, forecast_totals.csv and
forecast.png to --out (default RUN_DIR/70_forecast). The plan format is in the README.`,
		Example: `  dsamstan forecast results/20261127_093005_example_blm --plan plan.csv
  dsamstan forecast panel/run --plan q1_plan.csv --out q1_forecast`,
		Args: exactArgs(1, "RUN_DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RunDir = args[0]
			if opts.Plan == "" {
				return flagErrorf("--plan FILE is required: the media plan to forecast")
			}
			if runF != nil {
				return runF(opts)
			}
			return runForecast(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Plan, "plan", "", "media plan CSV (date, groups, every column the model reads)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "output folder (default RUN_DIR/70_forecast)")
	return cmd
}

func runForecast(ctx context.Context, opts *forecastOptions) error {
	return pipeline.ForecastRun(ctx, pipeline.ForecastOptions{RunDir: opts.RunDir, Plan: opts.Plan, Out: opts.Out, Log: opts.io.Out})
}
