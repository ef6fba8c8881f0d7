// The review dashboard's charts (Apache ECharts, served by this service). The figures come
// from the page itself (#review-data); each chart's table is printed under it.
(function () {
  "use strict";
  var RATES = [
    ["timely_accept_rate", "及时受理率"], ["on_time_handle_rate", "按期办结率"],
    ["participation_rate", "群众参评率"], ["satisfaction_rate", "群众满意率"],
    ["remote_share", "信网电占比"], ["repeat_share", "重复信访占比"]
  ];
  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return; }
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option, true);
    el.setAttribute("data-ready", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function render() {
    var node = document.getElementById("review-data");
    if (!node) { return; }
    var d = JSON.parse(node.textContent);
    var base = { animation: false, textStyle: { fontFamily: "sans-serif" }, tooltip: { trigger: "axis" }, grid: { left: 48, right: 24, top: 48, bottom: 40, containLabel: true } };
    var BASES = { timely_accept_rate: "accept_due", on_time_handle_rate: "handle_due",
      participation_rate: "replied", satisfaction_rate: "evaluated",
      remote_share: "new_cases", repeat_share: "new_cases" };
    function monthLabel(m) { var p = m.split("-"); return p[0] + "年" + Number(p[1]) + "月"; }
    draw("chart-trend", Object.assign({}, base, {
      legend: { top: 0 },
      // Each rate with what it divides: a small township's 0↔100% is one or two cases.
      tooltip: { trigger: "axis", formatter: function (items) {
        if (!items.length) { return ""; }
        var m = d.trend[items[0].dataIndex];
        return [monthLabel(m.month)].concat(items.map(function (it) {
          var key = RATES[it.seriesIndex][0];
          return it.marker + it.seriesName + " " + (it.value === null || it.value === undefined ? "—" : it.value + "%") +
            (m[BASES[key]] === null || m[BASES[key]] === undefined ? "" : "(" + m[BASES[key]] + "件)");
        })).join("<br>");
      } },
      xAxis: { type: "category", data: d.trend.map(function (m) { return monthLabel(m.month); }), axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: RATES.map(function (r) {
        return { name: r[1], type: "line", connectNulls: false, data: d.trend.map(function (m) { return m.no_data ? null : pct(m[r[0]]); }) };
      })
    }));
    draw("chart-units", Object.assign({}, base, {
      legend: { top: 0 },
      xAxis: { type: "category", data: d.units.map(function (u) { return u.unit_name; }), axisLabel: { interval: 0, rotate: 45 } },
      yAxis: { type: "value", name: "件", minInterval: 1 },
      series: [
        { name: "初信初访", type: "bar", stack: "new", data: d.units.map(function (u) { return u.first_time; }) },
        { name: "重复信访", type: "bar", stack: "new", data: d.units.map(function (u) { return u.repeat; }) }
      ]
    }));
    var s = d.sanwu;
    draw("chart-sanwu", Object.assign({}, base, {
      tooltip: { trigger: "item" },
      grid: { left: 40, right: 24, top: 24, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: ["三无乡镇"] },
      // A round top (30 for 27 townships): the axis labels never crowd each other.
      yAxis: { type: "value", min: 0, max: Math.max(5, Math.ceil(s.townships / 5) * 5), interval: Math.max(1, Math.ceil(s.townships / 25) * 5) },
      series: [{ name: "三无乡镇", type: "bar", barWidth: "40%", data: [s.sanwu_townships], label: { show: true, position: "top" },
        // The goal's label sits inside the plot, above the line: never cut at the edge.
        markLine: { symbol: "none", data: [{ yAxis: s.goal_townships, name: "三分之二目标" }],
          label: { position: "insideEndTop", formatter: "目标 {c} 个" } } }]
    }));
    draw("chart-campaigns", Object.assign({}, base, {
      legend: { top: 0 },
      xAxis: { type: "time" },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: d.campaigns.flatMap(function (c) {
        return [
          { name: c.name + " 目标", type: "line", step: "end", data: c.targets.map(function (t) { return [t.due_on, t.percent]; }) },
          { name: c.name + " 实际", type: "scatter", symbolSize: 14, data: [[c.as_of, pct(c.share)]] }
        ];
      })
    }));
    draw("chart-leaders", Object.assign({}, base, {
      legend: { top: 0 },
      xAxis: { type: "category", data: d.leaders.map(function (l) { return l.leader; }), axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "接访日已举行", type: "bar", data: d.leaders.map(function (l) { return l.reception_held; }) },
        { name: "接访日取消", type: "bar", data: d.leaders.map(function (l) { return l.reception_cancelled; }) },
        { name: "下访", type: "bar", data: d.leaders.map(function (l) { return l.field_visits_held; }) }
      ]
    }));
  }
  document.addEventListener("DOMContentLoaded", render);
  // A boosted navigation swaps the page in without a new DOMContentLoaded.
  document.addEventListener("htmx:afterSettle", render);
})();
