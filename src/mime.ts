/** The MIME extension: renders nefsim plot outputs in notebooks and files. */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { PLOT_MIME } from './plot/data.js';
import { rendererFactory } from './plot/renderer.js';

const extension: IRenderMime.IExtension = {
  id: 'jupyterlab-nefsim:plot',
  description: 'Renders nefsim probe plots (application/vnd.nefsim.plot+json) with plotly.js.',
  rendererFactory,
  rank: 0,
  dataType: 'json',
  fileTypes: [{ name: 'nefsim-plot', mimeTypes: [PLOT_MIME], extensions: ['.nefplot'] }],
  documentWidgetFactoryOptions: {
    name: 'nefsim plot',
    primaryFileType: 'nefsim-plot',
    fileTypes: ['nefsim-plot'],
    defaultFor: ['nefsim-plot'],
  },
};

export default extension;
