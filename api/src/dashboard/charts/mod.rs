//! The dashboard's charts: small, pure functions from numbers to SVG text, drawn on the server
//! so pages need no JavaScript and no front-end build.
//!
//! Why our own module instead of a plotting crate: the charts are few and simple, but each must
//! be readable without colour (shapes, patterns, printed numbers), carry a title and a spoken
//! description, expose counts (`data-points`, `data-lapses`, …) that browser tests check, and
//! escape every piece of text that came from a phone. A few hundred tested lines do that more
//! plainly than bending a general plotting library, and add nothing to the build.
//!
//! Every chart is one `<svg>` element with an `id` chosen by the caller, `role="img"`, a
//! `<title>` and a `<desc>`; it scales to its container through its `viewBox`.

pub mod bars;
pub mod craving;
pub mod heatmap;
pub mod hours;
pub mod scale;
pub mod sparkline;
pub mod svg;
#[cfg(test)]
pub mod wellformed;

pub use bars::{bar_chart, Bar, BarChart};
pub use craving::{craving_chart, CravingChart, DayPoint, SessionMark, SessionPoint};
pub use heatmap::{heatmap, HeatCell};
pub use hours::{hours_chart, HoursWeek};
pub use sparkline::sparkline;
