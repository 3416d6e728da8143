// Links, trunks and voice quality: probe samples and MOS samples.
#include "core/engine_impl.h"

namespace ccmon::collector {

ApplyResult Engine::Impl::ApplyLink(Site& site, const LinkSample& l, std::int64_t t) {
  if (l.link.empty() || !ValidText(l.link, cfg.limits.max_field_bytes)) {
    return Invalid("bad_field", "link sample without a valid link name");
  }
  if (!(l.loss_ratio >= 0 && l.loss_ratio <= 1) || !(l.rtt_ms >= 0) || !(l.jitter_ms >= 0)) {
    return Invalid("out_of_range", "link sample rtt/jitter negative or loss outside 0..1");
  }
  if (l.kind == LinkKind::kSipTrunk
          ? l.sip_status != 0 && (l.sip_status < 200 || l.sip_status > 699)
          : l.sip_status != 0) {
    return Invalid("out_of_range",
                   "link sample sip_status not 0 or a final SIP code 200-699 (sip_trunk only)");
  }
  Link* link = Find(site.links, l.link);
  if (link == nullptr) {
    if (site.links.size() >= cfg.limits.max_links_per_site) {
      return Invalid("link_cap", "site has reached max_links_per_site");
    }
    link = &site.links[std::string(l.link)];
    link->view.site = site.id;
    link->view.link = std::string(l.link);
  }
  if (t < link->view.last_ms) return ApplyResult{};  // an older sample never overrides
  link->view.up = l.up;
  link->view.rtt_ms = l.rtt_ms;
  link->view.jitter_ms = l.jitter_ms;
  link->view.loss_ratio = l.loss_ratio;
  link->view.last_ms = t;
  link->view.kind = l.kind;
  link->view.sip_status = l.sip_status;
  return ApplyResult{};
}

ApplyResult Engine::Impl::ApplyVoice(Site& site, const VoiceQuality& v, std::int64_t t) {
  if (v.queue.empty() || !ValidText(v.queue, cfg.limits.max_field_bytes) ||
      !ValidText(v.call_id, cfg.limits.max_field_bytes) ||
      !ValidText(v.agent, cfg.limits.max_field_bytes)) {
    return Invalid("bad_field", "voice quality without a valid queue");
  }
  if (!(v.mos >= 0 && v.mos <= 5) || !(v.loss_ratio >= 0 && v.loss_ratio <= 1) ||
      !(v.rtt_ms >= 0) || !(v.jitter_ms >= 0)) {
    return Invalid("out_of_range", "voice quality figures out of range");
  }
  Queue* q = GetQueue(site, v.queue);
  if (q == nullptr) return Invalid("queue_cap", "site has reached max_queues_per_site");
  const double mos = v.mos > 0 ? v.mos : MosFromNetwork(v.rtt_ms, v.jitter_ms, v.loss_ratio);
  if (MinuteBucket* b = RingAt(q->ring, FloorDiv(t, kMinuteMs))) {
    b->mos_milli_sum += static_cast<std::uint64_t>(std::llround(mos * 1000));
    ++b->mos_samples;
  }
  return ApplyResult{};
}

}  // namespace ccmon::collector
