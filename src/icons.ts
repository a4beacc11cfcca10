import { LabIcon } from '@jupyterlab/ui-components';

/** A spike train: the nefsim icon (theme-aware through JupyterLab's jp-icon3 class). */
export const nefsimIcon = new LabIcon({
  name: 'jupyterlab-nefsim:spikes',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M1 13h4.2l1.9-9.4 3 16.6 3-12.2 1.8 5H23v2h-9.5l-.9-2.4-3 12.1L7.2 9.2 6.8 15H1z"/></svg>',
});
