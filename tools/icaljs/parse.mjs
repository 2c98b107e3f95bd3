// Reads an iCalendar document on stdin, parses it with ical.js and prints what a calendar app
// would take from it as JSON: the calendar's name and refresh interval, and each event.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const calendar = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));
const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    sequence: event.sequence,
    summary: event.summary,
    description: event.description,
    start: event.startDate.toString(),
  };
});
console.log(
  JSON.stringify({
    name: calendar.getFirstPropertyValue("x-wr-calname"),
    refresh: String(calendar.getFirstPropertyValue("refresh-interval")),
    ttl: calendar.getFirstPropertyValue("x-published-ttl"),
    events,
  }),
);
