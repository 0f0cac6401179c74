/** The public tracking URL of a link (ingest's click capture) and the site snippet that uses it. */
export function trackingUrl(ingestBase: string, workspaceId: string, linkId: string): string {
  return `${ingestBase.replace(/\/$/, '')}/r/${encodeURIComponent(workspaceId)}/${encodeURIComponent(linkId)}`;
}

/**
 * The snippet for the customer's site: it forwards the ad click ids and utm parameters of the
 * landing page to the tracking link, so the click is recorded when the visitor taps "chat".
 */
export function siteSnippet(url: string): string {
  return `<a id="wact-chat" href="${url}">Chat with us on WhatsApp</a>
<script>
  (function () {
    var a = document.getElementById('wact-chat');
    var keep = /^(fbclid|gclid|gbraid|wbraid|msclkid|ttclid|li_fat_id|utm_[a-z]+)$/;
    var out = new URLSearchParams();
    new URLSearchParams(location.search).forEach(function (v, k) { if (keep.test(k)) out.append(k, v); });
    if (out.toString()) a.href += (a.href.indexOf('?') < 0 ? '?' : '&') + out.toString();
  })();
</script>`;
}
