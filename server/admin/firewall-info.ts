/**
 * Names of the firewall objects tumblerd owns (the backends' defaults), as doctor looks for them:
 * the nftables table, and the iptables chains jumped to from INPUT / FORWARD.
 */
import { iptNames } from '../monitor/firewall/ipt-rules.js';

export const OWN_NFT_TABLE = { family: 'inet', table: 'tumbler' } as const;
export const OWN_IPT_CHAINS = iptNames('tumbler');
