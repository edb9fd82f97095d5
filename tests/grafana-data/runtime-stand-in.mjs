// What interpolate.mjs's packages import from @grafana/runtime, which cannot be loaded
// outside a browser: loading it reads `window.grafanaBootData` and writes styles into
// `document` (through @grafana/ui). Nothing here is on the interpolation path but
// `config.featureToggles`, which the Prometheus escaping reads: Grafana's backend sends
// it in the boot data; empty, every toggle is at its default, as @grafana/data 13.2.0's
// FeatureToggles type documents them (prometheusSpecialCharsInLabelValues: false). The
// rest is for code the harness never runs: the macros that read the user or the URL,
// the time range's refresh event, the scopes variable's React context.
export const config = { featureToggles: {}, bootData: { user: {} } };
export const locationService = {
  getLocation: () => ({ pathname: '/', search: '', hash: '' }),
  getSearchObject: () => ({}),
};
export const useLocationService = () => locationService;
export const ScopesContext = undefined;
export class RefreshEvent {}
