// The types grafana/dashboards/*.json are checked against: @grafana/schema's own (Grafana's
// published dashboard schema, generated from its CUE kinds), read the way the schema means them.
// check-dashboards.js assigns each dashboard, and each of its panels, as an object literal to
// these types and runs the TypeScript compiler, so wrong value types, values outside an enum,
// unknown keys (excess property checks) and missing required keys are all reported.
//
// Adjustments to the published types, each because TypeScript would otherwise read them more
// strictly than the schema:
//  1. String enums (FieldColorModeId, ThresholdsMode, ...) become the union of their values:
//     a JSON file holds "thresholds", which TypeScript never accepts for an enum type.
//  2. A key the schema gives a default may be left out: the generator emits keys that have a
//     default (CUE `*value`) as required; the package's own default objects (defaultPanel,
//     defaultVizLegendOptions, each panel's defaultOptions, ...) list them. defaults.gen is
//     generated from those objects by check-dashboards.js.
//  3. Template variables and annotation queries are open structs in the CUE schema (`...`),
//     which the TypeScript generator drops: known keys are checked, others allowed (Grafana
//     writes e.g. `definition` on query variables).
//  4. Panel links: the schema types them as dashboard links (icon, tooltip, type required), but
//     Grafana stores data links there ({title, url, targetBlank}); the keys both share are
//     checked, none is required.
// Panels are checked one by one against their plugin's published Options and FieldConfig (a
// type that is no core panel plugin is an error), the properties of field overrides against the
// field config key their id names, and the queries of a Prometheus panel against
// PrometheusDataQuery; the dashboard itself is checked with its panels left to that.
// Not checked, because the published types do not say: the CUE value constraints lost in
// TypeScript (gridPos.w <= 24, uint ranges, non-empty strings), transformation and matcher
// options, field config links, the queries of data sources other than Prometheus beyond
// DataQuery's keys, and the meaning of strings (units, colours, PromQL, variable references).
import type * as S from '@grafana/schema';
import type * as AlertGroups from '@grafana/schema/dist/esm/raw/composable/alertgroups/panelcfg/x/AlertGroupsPanelCfg_types.gen';
import type * as AnnotationsList from '@grafana/schema/dist/esm/raw/composable/annotationslist/panelcfg/x/AnnotationsListPanelCfg_types.gen';
import type * as BarChart from '@grafana/schema/dist/esm/raw/composable/barchart/panelcfg/x/BarChartPanelCfg_types.gen';
import type * as BarGauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as Candlestick from '@grafana/schema/dist/esm/raw/composable/candlestick/panelcfg/x/CandlestickPanelCfg_types.gen';
import type * as Canvas from '@grafana/schema/dist/esm/raw/composable/canvas/panelcfg/x/CanvasPanelCfg_types.gen';
import type * as DashboardList from '@grafana/schema/dist/esm/raw/composable/dashboardlist/panelcfg/x/DashboardListPanelCfg_types.gen';
import type * as Gauge from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type * as Geomap from '@grafana/schema/dist/esm/raw/composable/geomap/panelcfg/x/GeomapPanelCfg_types.gen';
import type * as Heatmap from '@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen';
import type * as Histogram from '@grafana/schema/dist/esm/raw/composable/histogram/panelcfg/x/HistogramPanelCfg_types.gen';
import type * as Logs from '@grafana/schema/dist/esm/raw/composable/logs/panelcfg/x/LogsPanelCfg_types.gen';
import type * as News from '@grafana/schema/dist/esm/raw/composable/news/panelcfg/x/NewsPanelCfg_types.gen';
import type * as NodeGraph from '@grafana/schema/dist/esm/raw/composable/nodegraph/panelcfg/x/NodeGraphPanelCfg_types.gen';
import type * as PieChart from '@grafana/schema/dist/esm/raw/composable/piechart/panelcfg/x/PieChartPanelCfg_types.gen';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as StateTimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as StatusHistory from '@grafana/schema/dist/esm/raw/composable/statushistory/panelcfg/x/StatusHistoryPanelCfg_types.gen';
import type * as Table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as Text from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type * as Trend from '@grafana/schema/dist/esm/raw/composable/trend/panelcfg/x/TrendPanelCfg_types.gen';
import type * as XYChart from '@grafana/schema/dist/esm/raw/composable/xychart/panelcfg/x/XYChartPanelCfg_types.gen';
import type * as Prometheus from '@grafana/schema/dist/esm/raw/composable/prometheus/dataquery/x/PrometheusDataQuery_types.gen';
import type { Defaults } from './defaults.gen';

// A panel plugin without a FieldConfig in the schema has no custom field options.
type NoCustom = Record<string, never>;

// Core panel plugins by plugin id (the panel's "type"), with their published options.
interface PanelKinds {
  alertGroups: { options: AlertGroups.Options; custom: NoCustom };
  annolist: { options: AnnotationsList.Options; custom: NoCustom };
  barchart: { options: BarChart.Options; custom: BarChart.FieldConfig };
  bargauge: { options: BarGauge.Options; custom: NoCustom };
  candlestick: { options: Candlestick.Options; custom: Candlestick.FieldConfig };
  canvas: { options: Canvas.Options; custom: NoCustom };
  dashlist: { options: DashboardList.Options; custom: NoCustom };
  gauge: { options: Gauge.Options; custom: NoCustom };
  geomap: { options: Geomap.Options; custom: NoCustom };
  heatmap: { options: Heatmap.Options; custom: Heatmap.FieldConfig };
  histogram: { options: Histogram.Options; custom: Histogram.FieldConfig };
  logs: { options: Logs.Options; custom: NoCustom };
  news: { options: News.Options; custom: NoCustom };
  nodeGraph: { options: NodeGraph.Options; custom: NoCustom };
  piechart: { options: PieChart.Options; custom: PieChart.FieldConfig };
  stat: { options: Stat.Options; custom: NoCustom };
  'state-timeline': { options: StateTimeline.Options; custom: StateTimeline.FieldConfig };
  'status-history': { options: StatusHistory.Options; custom: StatusHistory.FieldConfig };
  table: { options: Table.Options; custom: Table.FieldConfig };
  text: { options: Text.Options; custom: NoCustom };
  timeseries: { options: TimeSeries.Options; custom: TimeSeries.FieldConfig };
  trend: { options: Trend.Options; custom: Trend.FieldConfig };
  xychart: { options: XYChart.Options; custom: XYChart.FieldConfig };
}
export type PanelType = keyof PanelKinds;

// Queries by data source type; any other data source's queries are only DataQuery's keys.
interface QueryKinds {
  prometheus: Prometheus.PrometheusDataQuery;
}
type Query<Q extends string> = Q extends keyof QueryKinds ? QueryKinds[Q] : Open<S.DataQuery>;

// --- reading the published types as the schema means them (see the top of the file) ---
type Open<T> = T & { [key: string]: unknown };
type IsAny<T> = 0 extends 1 & T ? true : false;
type Equals<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
type DefaultedIn<D, T> = D extends [infer I, infer K] ? (Equals<I, T> extends true ? K : never) : never;
type Defaulted<T> = DefaultedIn<Defaults, T> & keyof T;
type CheckedObject<T, D extends keyof T> = {
  [K in keyof T as K extends D ? never : K]: Checked<T[K]>;
} & {
  [K in keyof T as K extends D ? K : never]?: Checked<T[K]>;
};
export type Checked<T> =
  IsAny<T> extends true ? T :
  T extends string ? (string extends T ? T : `${T}`) :
  T extends number | boolean | bigint | symbol | null | undefined ? T :
  T extends ReadonlyArray<infer U> ? Array<Checked<U>> :
  T extends object ? CheckedObject<T, Defaulted<T>> :
  T;

// The same shape with every key optional and any value: only unknown keys are errors. (never is
// NoCustom's value: any value, reported by the types themselves.)
export type Keys<T> =
  IsAny<T> extends true ? T :
  [T] extends [never] ? unknown :
  T extends null | undefined ? T :
  T extends ReadonlyArray<infer U> ? Array<Keys<U>> :
  T extends object ? { [K in keyof T]?: Keys<T[K]> } :
  unknown;

// --- what is assigned ---
export type Dashboard = Omit<Checked<S.Dashboard>, 'panels' | 'templating' | 'annotations'> & {
  panels?: Array<{ [key: string]: unknown }>; // each checked as Panel or RowPanel
  templating?: { list?: Array<Open<Checked<S.VariableModel>>> };
  annotations?: { list?: Array<Open<Checked<S.AnnotationQuery>>> };
};

export type RowPanel = Omit<Checked<S.RowPanel>, 'panels'> & {
  panels?: Array<{ [key: string]: unknown }>; // a collapsed row's, each checked as Panel
};

// A field override sets one field config property by its path: "unit", "custom.lineWidth", ...
type FieldProperty<C> =
  | { [K in keyof FieldConfigBase]-?: { id: K; value?: FieldConfigBase[K] } }[keyof FieldConfigBase]
  | { [K in keyof C & string]-?: { id: `custom.${K}`; value?: C[K] } }[keyof C & string];
type FieldConfigBase = Omit<S.FieldConfig, 'custom'>;
interface FieldConfigSource<C> {
  defaults: FieldConfigBase & { custom?: C };
  overrides?: Array<{ matcher: S.MatcherConfig; properties: Array<FieldProperty<C>> }>; // defaultFieldConfigSource: []
}

type KnownPanel<T extends PanelType, Q extends string> = Omit<
  Checked<S.Panel>, 'type' | 'options' | 'fieldConfig' | 'targets' | 'links'
> & {
  type: T;
  links?: Array<Open<Partial<Checked<S.DashboardLink>>>>;
  options?: Checked<PanelKinds[T]['options']>;
  fieldConfig?: Checked<FieldConfigSource<PanelKinds[T]['custom']>>;
  targets?: Array<Checked<Query<Q>>>;
};
// A type that is no core panel: its "type" is reported as not one of PanelType.
export type Panel<T extends string, Q extends string> =
  T extends PanelType ? KnownPanel<T, Q> : { type: PanelType; [key: string]: unknown };
