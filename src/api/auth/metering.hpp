#pragma once
// Download metering shared by every family that sends archive bytes (the zipper and Nodes in
// api/download, GetObject in api/s3), so a user's downloads are limited alike whichever API they
// use: one connection slot per body (QuotaService::open_download), pacing to the slot's bandwidth,
// the bytes counted against the month's volume as they are sent, and the X-Download-* headers.

#include <memory>
#include <string>

#include "auth/quota.hpp"
#include "http/message.hpp"

namespace ds::api::auth {

// Wraps res.stream so that it is paced to the slot's bandwidth (through BodyStream::pause: the
// server waits on a timer, no thread blocks), counts the bytes sent against `subject`'s monthly
// download volume, logs the download and frees the slot at the last byte (or when the client goes
// away); sets X-Download-Bandwidth, -Connections-Limit, -Connections-Remaining (from `decision`,
// the one open_download returned), -Volume-Limit and, once the volume is spent, -Degraded.
void meter_download(http::Response& res, std::unique_ptr<ds::auth::DownloadSlot> slot, ds::auth::QuotaService& quotas,
                    const ds::auth::QuotaSubject& subject, const ds::auth::QuotaDecision& decision, std::string what);

}  // namespace ds::api::auth
