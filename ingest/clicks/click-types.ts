/** URL parameters that identify an ad click (each stored only encrypted). */
export const CLICK_ID_KINDS = ['fbclid', 'gclid', 'gbraid', 'wbraid', 'msclkid', 'ttclid', 'li_fat_id'] as const;
export type ClickIdKind = (typeof CLICK_ID_KINDS)[number] | 'ctwa_clid';

/** Campaign parameters kept as they are (they describe the ad, not the person). */
export const UTM_KEYS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'utm_id'] as const;
export type UtmKey = (typeof UTM_KEYS)[number];

export type ClickParams = Partial<Record<(typeof CLICK_ID_KINDS)[number] | UtmKey, string>>;
