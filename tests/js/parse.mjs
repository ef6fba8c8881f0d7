// Parses an iCalendar file with Mozilla's ical.js (Thunderbird's parser) and prints what it
// understood as JSON, for tests/test_feeds_*.py. Exits non-zero on any parse error.
// Usage: node parse.mjs FILE
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2], "utf8");
const root = new ICAL.Component(ICAL.parse(text));
if (root.name !== "vcalendar") throw new Error(`root is ${root.name}`);
const zones = root.getAllSubcomponents("vtimezone").map((vtz) => {
  const tz = new ICAL.Timezone(vtz);
  ICAL.TimezoneService.register(tz);
  return tz.tzid;
});
const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    sequence: event.sequence,
    summary: event.summary,
    location: event.location,
    description: event.description,
    status: vevent.getFirstPropertyValue("status"),
    categories: vevent.getFirstProperty("categories")?.getValues() ?? [],
    tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
    start: event.startDate.toUnixTime(),
    end: event.endDate.toUnixTime(),
    dtstamp: vevent.getFirstPropertyValue("dtstamp").toUnixTime(),
    provisional: vevent.getFirstPropertyValue("x-reception-provisional"),
  };
});
const prop = (name) => root.getFirstPropertyValue(name);
console.log(
  JSON.stringify({
    method: prop("method"),
    version: prop("version"),
    calname: prop("x-wr-calname"),
    refresh: prop("refresh-interval")?.toString() ?? null,
    ttl: prop("x-published-ttl")?.toString() ?? null,
    zones,
    events,
  }),
);
